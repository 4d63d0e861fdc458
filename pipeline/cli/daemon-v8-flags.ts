import process from "node:process";

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

/**
 * jemalloc's settings for DuckDB (its allocator on Linux, read from DUCKDB_JE_MALLOC_CONF when DuckDB loads): one
 * arena instead of four per core, and freed pages returned to the system after half a second rather than kept
 * (dirty, then lazily freed pages still count in the RSS). The daemon's DuckDB instances run one thread each, so
 * one arena costs them nothing; on the 300 k-line pipeline bench the daemon's peak RSS fell from 348–381 MB to
 * 322–337 MB with no change in CPU beyond the noise (docs/benchmarks.md). Purging at once (a decay of 0) took
 * another 25 MB for about a tenth more CPU, and was not kept. Only the daemon sets it: `logbench query` may run
 * DuckDB on every core, where one arena would be a lock they share.
 */
export const DAEMON_DUCKDB_MALLOC_CONF = "narenas:1,dirty_decay_ms:500,muzzy_decay_ms:0";

/**
 * The C library's malloc settings for the daemon's process (glibc reads them once, as the process starts, so they
 * are set by whatever starts it: `npm start`, the Docker image, the systemd unit and `deno task daemon`, as the heap
 * limits are). glibc gives each thread that finds the arenas busy an arena of its own, up to eight per core: libuv's
 * four pool threads (file work, DuckDB's calls) and DuckDB's own each grew one, and what one frees stays in it.
 * Two arenas held the 1 M-line pipeline bench's peak RSS at 282–292 MB against 297–316 MB with glibc's default,
 * with the same CPU (three alternating rounds, docs/benchmarks.md). A fixed mmap threshold as well
 * (MALLOC_MMAP_THRESHOLD_=131072) took another 10 MB but a quarter more CPU, and was not kept.
 */
export const DAEMON_MALLOC_ENV = { MALLOC_ARENA_MAX: "2" } as const;

/** DAEMON_MALLOC_ENV as `NAME=value` words, to go before a command in a shell. */
export const DAEMON_MALLOC_ENV_WORDS = Object.entries(DAEMON_MALLOC_ENV)
  .map(([k, v]) => `${k}=${v}`)
  .join(" ");

/** Sets DAEMON_DUCKDB_MALLOC_CONF before DuckDB is loaded, unless the environment has its own. */
export function useDaemonAllocator(env: NodeJS.ProcessEnv = process.env): void {
  if (env.DUCKDB_JE_MALLOC_CONF === undefined) env.DUCKDB_JE_MALLOC_CONF = DAEMON_DUCKDB_MALLOC_CONF;
}
