/**
 * Key → partition for both buses: Kafka's murmur2 (the Java client's Utils.murmur2, which kafkajs'
 * DefaultPartitioner also implements), so a key lands on the same partition number on either bus and where Java
 * and librdkafka's murmur2 producers put it. The Kafka bus uses it in place of kafkajs' own, which hashes every
 * message again with 64-bit Long arithmetic (a fifth of the replay's CPU on the Kafka mock). Records without a key
 * are spread round-robin by the caller.
 */
const encoder = new TextEncoder();

export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  switch (length & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: murmur2 mixes the tail bytes by falling through
    case 3:
      h ^= data[whole + 2]! << 16;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: as above
    case 2:
      h ^= data[whole + 1]! << 8;
    case 1:
      h ^= data[whole]!;
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

// Keys are client hosts, which repeat: remember their hashes (bounded; forgotten all at once when full).
const HASH_CACHE_LIMIT = 65_536;
const hashes = new Map<string, number>();

/** Partition of a key among `partitions`, as Kafka's default partitioner computes it. */
export function partitionForKey(key: string, partitions: number): number {
  let h = hashes.get(key);
  if (h === undefined) {
    h = murmur2(encoder.encode(key)) & 0x7fffffff;
    if (hashes.size >= HASH_CACHE_LIMIT) hashes.clear();
    hashes.set(key, h);
  }
  return h % partitions;
}
