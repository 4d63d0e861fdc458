/**
 * The V8 heap limits the daemon is started with: by `npm start`, the Docker image (NODE_OPTIONS), the systemd
 * unit (Deno's --v8-flags), the e2e tests and the benchmarks, so that what is tested and measured is what runs.
 *
 * The daemon's live heap is small (about 45 MB in a heap snapshot taken in the middle of a 300 k-line catch-up),
 * but under its allocation rate V8 lets the heap grow to ten times that before it collects: 626–772 MB peak RSS
 * on the 1 M-line pipeline bench with Node's defaults, against 354 MB with a 128 MB old space and less again with
 * the smaller young generation (docs/benchmarks.md). A daemon that did reach the limit would stop with an
 * out-of-memory error and be restarted by its supervisor; every guarantee holds across that as across kill -9.
 */
export const DAEMON_V8_FLAGS = ["--max-old-space-size=128", "--max-semi-space-size=4"] as const;

/** The same limits as one Deno flag (`deno run --v8-flags=…`). */
export const DAEMON_DENO_V8_FLAG = `--v8-flags=${DAEMON_V8_FLAGS.join(",")}`;
