/**
 * Secrets kept in files (`*File` config fields): one reader for the config loader and every connector, so a
 * secret is read, trimmed and reported the same way everywhere (DESIGN §4: never in logs or errors).
 */
import { readFileSync } from "node:fs";
import { LogbenchError } from "./errors.ts";

/**
 * The secret in `file`, surrounding whitespace (the trailing newline an editor adds) dropped. A file that
 * cannot be read or holds nothing is a CONFIG error naming `field` and the file, never the content.
 */
export function readSecret(file: string, field: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new LogbenchError("CONFIG", `${field}: cannot read ${file} (${reason})`, { cause: err });
  }
  const secret = text.trim();
  if (!secret) throw new LogbenchError("CONFIG", `${field}: ${file} is empty`);
  return secret;
}

/** The secret given inline (already ${ENV}-substituted) when set, else the one in `file`, else undefined. */
export function secretFrom(inline: string | undefined, file: string | undefined, field: string): string | undefined {
  if (inline) return inline;
  return file ? readSecret(file, field) : undefined;
}
