/** The report as a terminal summary and as one self-contained HTML file (inline data and CSS, no script, no network). */
import type { Panel, PanelName, Report } from "./compute.ts";

const TITLES: Record<PanelName, string> = {
  visitors: "Unique visitors per day",
  requests: "Requested files",
  static_requests: "Static requests",
  not_found: "Not found URLs (404s)",
  hosts: "Visitor hostnames and IPs",
  os: "Operating systems",
  browsers: "Browsers",
  visit_time: "Time distribution (UTC hour)",
  referring_sites: "Referring sites",
  referrers: "Referrer URLs",
  status_codes: "HTTP status codes",
};

const GENERAL_LABELS: Array<[keyof Report["general"], string]> = [
  ["total_requests", "Total requests"],
  ["valid_requests", "Valid requests"],
  ["failed_requests", "Failed requests"],
  ["unique_visitors", "Unique visitors"],
  ["unique_files", "Unique files"],
  ["unique_static_files", "Unique static files"],
  ["unique_not_found", "Unique not found"],
  ["unique_referrers", "Unique referrers"],
  ["bandwidth", "Bandwidth (bytes)"],
  ["crawlers_isbot_only", "Crawlers by isbot only"],
];

/** A terminal summary: the general numbers and the top `top` rows of each panel. */
export function renderText(report: Report, top = 10): string {
  const g = report.general;
  const out = [`logbench report ${g.start_date} … ${g.end_date} (made ${g.date_time})`, ""];
  for (const [k, label] of GENERAL_LABELS) out.push(`  ${label.padEnd(22)} ${Number(g[k]).toLocaleString("en-US")}`);
  for (const [name, panel] of Object.entries(report.panels) as Array<[PanelName, Panel]>) {
    out.push("", `${TITLES[name]} (${panel.metadata.data.total.value})`);
    out.push(`  ${"hits".padStart(8)} ${"visitors".padStart(8)} ${"bytes".padStart(14)}  data`);
    for (const it of panel.data.slice(0, top))
      out.push(
        `  ${String(it.hits.count).padStart(8)} ${String(it.visitors.count).padStart(8)} ${String(it.bytes.count).padStart(14)}  ${it.method ? `${it.method} ` : ""}${it.data.slice(0, 90)}`,
      );
  }
  out.push("", g.failed_requests_note, g.crawlers_note);
  return `${out.join("\n")}\n`;
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** One HTML file: tables for every panel, the report's JSON inline (in a non-executed script block), no network. */
export function renderHtml(report: Report, top = 50): string {
  const g = report.general;
  const general = GENERAL_LABELS.map(
    ([k, label]) => `<div class="card"><span>${esc(label)}</span><b>${Number(g[k]).toLocaleString("en-US")}</b></div>`,
  ).join("");
  const panels = (Object.entries(report.panels) as Array<[PanelName, Panel]>)
    .map(([name, panel]) => {
      const rows = panel.data
        .slice(0, top)
        .map(
          (it) =>
            `<tr><td>${it.hits.count}</td><td>${it.hits.percent}%</td><td>${it.visitors.count}</td><td>${it.bytes.count}</td><td>${esc(`${it.method ? `${it.method} ` : ""}${it.data}`)}</td></tr>`,
        )
        .join("");
      return `<section id="${name}"><h2>${esc(TITLES[name])} <small>${panel.metadata.data.total.value}</small></h2><table><thead><tr><th>Hits</th><th>%</th><th>Visitors</th><th>Bytes</th><th>Data</th></tr></thead><tbody>${rows}</tbody></table></section>`;
    })
    .join("\n");
  const json = JSON.stringify(report).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>logbench report ${esc(g.start_date)} – ${esc(g.end_date)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}.cards{display:flex;flex-wrap:wrap;gap:.5em}
.card{border:1px solid #ccc;border-radius:4px;padding:.5em 1em}.card span{display:block;color:#666;font-size:12px}
table{border-collapse:collapse;margin-bottom:2em}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}
td:last-child,th:last-child{text-align:left;word-break:break-all}</style></head>
<body><h1>logbench report ${esc(g.start_date)} – ${esc(g.end_date)}</h1><p>Made ${esc(g.date_time)}. ${esc(g.failed_requests_note)} ${esc(g.crawlers_note)}</p>
<div class="cards">${general}</div>
${panels}
<script type="application/json" id="report-data">${json}</script>
</body></html>
`;
}
