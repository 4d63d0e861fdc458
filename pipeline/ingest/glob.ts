/**
 * File-name globs for the sources: `*` (any run of characters but `/`) and `?` (one character), in any segment of
 * an absolute path (`/var/log/nginx/*.log`, `/srv/site-?/logs/access.log`). As in a shell, a wildcard does not
 * match a name starting with a dot. No `**`, no braces: a followed log's folder is known.
 */
import { readdir } from "node:fs/promises";
import { join, sep } from "node:path";

/** A whole-name matcher for one segment. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, "[^/]*")
    .replace(/\?/g, "[^/]");
  return new RegExp(`^${body}$`);
}

const WILD = /[*?]/;

/** The folder before the first wildcard: what must exist, what is watched, what Deno must be allowed to read. */
export function globBase(pattern: string): string {
  const parts = pattern.split(sep);
  const fixed: string[] = [];
  for (const part of parts.slice(0, -1)) {
    if (WILD.test(part)) break;
    fixed.push(part);
  }
  return fixed.join(sep) || sep;
}

/** The paths that match an absolute pattern now (files or not: the caller stats them), sorted. */
export async function expandGlob(pattern: string): Promise<string[]> {
  const parts = pattern.split(sep);
  let found = [parts[0] === "" ? sep : parts[0]!];
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === "") continue;
    if (!WILD.test(part)) {
      found = found.map((dir) => join(dir, part));
      continue;
    }
    const re = globToRegExp(part);
    const next: string[] = [];
    for (const dir of found) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue; // a folder that is not there (yet) matches nothing
      }
      for (const name of names) if (!name.startsWith(".") && re.test(name)) next.push(join(dir, name));
    }
    found = next;
  }
  return found.sort();
}

/** The paths matching any of the patterns, each once, sorted. */
export async function expandGlobs(patterns: readonly string[]): Promise<string[]> {
  const all = await Promise.all(patterns.map(expandGlob));
  return [...new Set(all.flat())].sort();
}
