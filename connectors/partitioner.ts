/**
 * Key → partition for both buses: Kafka's murmur2 (the Java client's Utils.murmur2, which kafkajs'
 * DefaultPartitioner also implements), so a key lands on the same partition number on either bus and where Java
 * and librdkafka's murmur2 producers put it. The Kafka bus uses it in place of kafkajs' own, which hashes every
 * message again with 64-bit Long arithmetic (a fifth of the replay's CPU on the Kafka mock). Records without a key
 * are spread round-robin by the caller.
 */
const encoder = new TextEncoder();

/** Kafka's murmur2 of the first `length` bytes of `data`. */
export function murmur2(data: Uint8Array, length = data.length): number {
  const m = 0x5bd1e995;
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

/** Where an ASCII key's bytes are copied to be hashed: its UTF-8 is its char codes. */
let scratch = new Uint8Array(256);

/**
 * Partition of a key among `partitions`, as Kafka's default partitioner computes it. An ASCII key (hosts are) is
 * hashed from its char codes, with no encoding and no allocation: a cache of hashes by key cost more than the hash,
 * since each event's key is a new string that the map had to hash first (8 % of the replay's CPU).
 */
export function partitionForKey(key: string, partitions: number): number {
  const n = key.length;
  if (n > scratch.length) scratch = new Uint8Array(Math.max(n, 2 * scratch.length));
  const bytes = scratch;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return (murmur2(encoder.encode(key)) & 0x7fffffff) % partitions;
    bytes[i] = c;
  }
  return (murmur2(bytes, n) & 0x7fffffff) % partitions;
}
