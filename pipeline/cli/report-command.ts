/** `logbench report --from T --to T [--format json|html|text] [--config F]`: GoAccess's panels over the archive. */
import { defaultConfigPath, loadConfig } from "../config/load.ts";
import { withCatalog } from "../query/catalog.ts";
import { computeReport } from "../report/compute.ts";
import { renderHtml, renderText } from "../report/render.ts";
import { parseOptions } from "./args.ts";
import { type CliIo, commandContext, EXIT } from "./io.ts";

const HELP = `Usage: logbench report --from T --to T [--format json|html|text] [--config FILE] [--max-items N]

GoAccess's panels (visitors, requests, static requests, not found, hosts, OS, browsers, visit time, referring
sites, referrers, status codes) over the archived events with ts in [--from, --to), in GoAccess's JSON shape.
T is an ISO 8601 date or time (a bare date is UTC midnight): --from 2015-05-17 --to 2015-05-21 is 17–20 May.
failed_requests counts the dead letters whose raw line holds a timestamp in the range. See docs/report.md.
`;

export async function reportCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(args, {
    config: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    format: { type: "string", default: "json" },
    "max-items": { type: "string", default: "366" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  const from = Date.parse(values.from ?? "");
  const to = Date.parse(values.to ?? "");
  if (Number.isNaN(from) || Number.isNaN(to) || to <= from) {
    io.stderr.write(
      `logbench report: give --from and --to as ISO dates or times, --to after --from (got ${JSON.stringify(values.from)}, ${JSON.stringify(values.to)})\n\n${HELP}`,
    );
    return EXIT.usage;
  }
  if (!["json", "html", "text"].includes(values.format)) {
    io.stderr.write(`logbench report: --format: expected json, html or text, got "${values.format}"\n`);
    return EXIT.usage;
  }
  const maxItems = Number(values["max-items"]);
  if (!Number.isInteger(maxItems) || maxItems < 1) {
    io.stderr.write(`logbench report: --max-items: expected a positive integer, got "${values["max-items"]}"\n`);
    return EXIT.usage;
  }
  const config = await loadConfig(values.config ?? defaultConfigPath, io.env);
  const ctx = commandContext(io);
  const { classifyAgent } = await import("../report/agents.ts");
  const report = await withCatalog(
    config,
    ctx,
    (conn) => computeReport(conn, { from, to, maxItems, classify: classifyAgent }),
    { tables: ["events", "dead_letters"] },
  );
  const out =
    values.format === "html"
      ? renderHtml(report)
      : values.format === "text"
        ? renderText(report)
        : `${JSON.stringify({ general: report.general, ...report.panels }, null, 2)}\n`;
  io.stdout.write(out);
  return EXIT.ok;
}
