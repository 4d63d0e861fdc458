/** Small zod building blocks shared by the connector config schemas. */
import { z } from "zod";

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

// Spelled without the `i` flag: JSON Schema patterns have no flags, and editors check with the same pattern.
const SIZE = /^\s*(\d+(?:\.\d+)?)\s*((?:[kKmMgG][iI]?)?[bB])?\s*$/;
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*([mM][sS]|[sSmMhHdD])\s*$/;

/** A string matching `pattern` (so the JSON Schema carries it for editors), with a message showing an example. */
const spelled = (pattern: RegExp, kind: string, example: string) =>
  z.string().regex(pattern, { error: (issue) => `expected ${kind} like "${example}", got "${issue.input}"` });

/** "128MB", "64KiB", "1048576" → bytes. */
export const size = (example = "128MB") =>
  z.union([z.number().int().positive(), spelled(SIZE, "a size", example)]).transform((value) => {
    if (typeof value === "number") return value;
    const m = SIZE.exec(value)!;
    return Math.round(Number(m[1]) * SIZE_UNITS[(m[2] || "b").toLowerCase()]!);
  });

/** "60s", "5m", "250ms", 1000 → milliseconds. */
export const duration = (example = "60s") =>
  z.union([z.number().int().nonnegative(), spelled(DURATION, "a duration", example)]).transform((value) => {
    if (typeof value === "number") return value;
    const m = DURATION.exec(value)!;
    return Math.round(Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]!);
  });

/** An http(s) URL without credentials in it (credentials belong in token/tokenFile fields). */
export const httpUrl = () =>
  z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u), "expected an http:// or https:// URL")
    .refine((u) => !new URL(u).password, "put credentials in the token or password fields, not in the URL");

/** A secret given inline (normally through ${ENV} substitution) — never logged. */
export const secret = () => z.string().min(1);
