/**
 * Readers fail with one line a person can act on: which source could not be read, in words they know
 * ("the bus (kafka 10.0.0.5:9092)"), and the config field that points at it ("bus.brokers").
 */

/** A source that could not be read. */
export class SourceError extends Error {
  constructor(
    /** "the bus (kafka 10.0.0.5:9092)" */
    readonly source: string,
    /** "bus.brokers" */
    readonly field: string,
    cause: unknown,
  ) {
    super(`cannot read ${source} (config field ${field}): ${firstLine(cause)}`, { cause });
    this.name = "SourceError";
  }
}

/** Run `fn`; any failure becomes a SourceError naming `source` and `field`. */
export async function reading<T>(source: string, field: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError(source, field, err);
  }
}

/** The first line of an error message, with the cause's first line when the top one is vague. */
export function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message.split("\n")[0]!.trim();
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error && !line.includes(cause.message.split("\n")[0]!)) {
    return `${line}: ${cause.message.split("\n")[0]}`;
  }
  return line;
}
