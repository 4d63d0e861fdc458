/** Instants given on the command line or to the readers: an ISO date (00:00 UTC) or date-time (UTC unless zoned). */
import { LogbenchError } from "../../connectors/errors.ts";

/** Epoch ms of "2015-05-17", "2015-05-17T10:00", "2015-05-17T10:00:00Z" or "2015-05-17T12:00+02:00". */
export function parseInstant(text: string, what = "time"): number {
  const t = text.trim();
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(t)
    ? `${t}T00:00:00Z`
    : /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(t)
      ? `${t.replace(" ", "T")}Z`
      : t;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(iso) ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(ms))
    throw new LogbenchError(
      "USAGE",
      `${what}: expected an ISO date or time such as 2015-05-17 or 2015-05-17T10:00Z, got "${text}"`,
    );
  return ms;
}

/** [from, to) from two texts; `to` must be after `from`. */
export function parseRange(from: string | undefined, to: string | undefined): { from: number; to: number } {
  if (!from || !to) throw new LogbenchError("USAGE", "give both --from and --to (ISO dates or times, UTC)");
  const range = { from: parseInstant(from, "--from"), to: parseInstant(to, "--to") };
  if (range.to <= range.from) throw new LogbenchError("USAGE", `--to (${to}) must be after --from (${from})`);
  return range;
}
