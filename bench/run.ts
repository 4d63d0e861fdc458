/**
 * `npm run bench -- <name> [options]`: runs one benchmark script. A benchmark is a module exporting
 * `main(args): Promise<number>` (its exit code) and one line in BENCHES.
 */

const BENCHES: Record<string, { module: string; summary: string }> = {
  parse: {
    module: "./parse.ts",
    summary: "Access-log parsing: logbench formats vs a regex parser vs GoAccess, lines/s and peak RSS (--rounds N)",
  },
  "parse-cli": {
    module: "./parse-cli.ts",
    summary: "The `logbench parse` command on 1M-line files, against Node start-up and a Node file copy (--rounds N)",
  },
  pipeline: {
    module: "./pipeline.ts",
    summary:
      "The daemon end to end (replay → bus → archive + aggregates caught up) on the local bus and the Kafka mock, vs GoAccess (--paths, --lines N)",
  },
  roll: {
    module: "./roll.ts",
    summary:
      "One archive roll of a backlog (one Parquet file per event-time hour): the stage's roll vs the roll before, ms per file (--hours N, --per N, --rounds N)",
  },
  live: {
    module: "./live.ts",
    summary:
      "A line appended to a tailed file → the /api/windows stream: p50/p99 latency vs fs.watch (--rate, --seconds)",
  },
  rss: {
    module: "./rss.ts",
    summary: "The daemon's RSS under a steady generator load: flat within ±10 %? (--rate N, --minutes M, --every S)",
  },
  generator: {
    module: "./generator.ts",
    summary: "The generator holds its rate within ±5 % over 10 s, source and CLI (--rate N, --seconds S)",
  },
  tcp: {
    module: "./tcp.ts",
    summary:
      "tcp source over loopback: lines/s vs a raw socket reader, with and without the local bus (--connections N)",
  },
};

const [name, ...args] = process.argv.slice(2);
const bench = name === undefined ? undefined : BENCHES[name];
if (!bench) {
  const list = Object.entries(BENCHES)
    .map(([n, b]) => `  ${n.padEnd(10)} ${b.summary}`)
    .join("\n");
  process.stderr.write(
    `${name ? `unknown benchmark "${name}"\n\n` : ""}Usage: npm run bench -- <name> [options]\n\nBenchmarks:\n${list}\n`,
  );
  process.exitCode = 2;
} else {
  const mod = (await import(bench.module)) as { main(args: string[]): Promise<number> };
  process.exitCode = await mod.main(args);
}
