/** Small test utilities: a free loopback port, and a byte-level search of folders for a secret. */
import { readdir, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { packageRoot } from "../../../pipeline/config/load.ts";

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => done(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * Every file under the given folders (relative to the repo root or absolute; missing ones are skipped), and
 * those whose bytes contain `secret` as UTF-8 text or in base64 (an encoded token is still a leaked token).
 */
export async function scanForSecret(secret: string, dirs: string[]): Promise<{ files: string[]; found: string[] }> {
  const needles = [Buffer.from(secret, "utf8"), Buffer.from(Buffer.from(secret).toString("base64"), "utf8")];
  const files: string[] = [];
  const found: string[] = [];
  for (const dir of dirs) {
    const root = resolve(packageRoot, dir);
    const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const file = join(entry.parentPath, entry.name);
      files.push(file);
      const bytes = await readFile(file);
      if (needles.some((needle) => bytes.includes(needle))) found.push(file);
    }
  }
  return { files, found };
}
