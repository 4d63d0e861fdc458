/**
 * The Kafka bus partitions with its own murmur2 instead of kafkajs' DefaultPartitioner, which must not move
 * any key: kafkajs' partitioner (the Java client's algorithm) is the oracle, for any key text and partition count.
 */
import fc from "fast-check";
import { Partitioners, type PartitionMetadata } from "kafkajs";
import { describe, expect, it } from "vitest";
import { murmur2Partitioner } from "../../../connectors/kafka/bus.ts";

const metadata = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));

describe("the Kafka bus partitioner", () => {
  it("puts every key where kafkajs' DefaultPartitioner puts it, asked once or again", () => {
    const ours = murmur2Partitioner();
    const kafkajs = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(
        // Long ASCII keys too: they outgrow the buffer an ASCII key is hashed from.
        fc.oneof(
          fc.string(),
          fc.string({ unit: "grapheme" }),
          fc.ipV4(),
          fc.domain(),
          fc.string({ minLength: 250, maxLength: 700 }),
        ),
        fc.integer({ min: 1, max: 64 }),
        (key, n) => {
          const args = { topic: "t", partitionMetadata: metadata(n), message: { key, value: "" } };
          const expected = kafkajs(args);
          expect(ours(args)).toBe(expected);
          expect(ours(args)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("leaves explicit partitions, Buffer keys and keyless messages to kafkajs", () => {
    const ours = murmur2Partitioner();
    const partitionMetadata = metadata(6);
    expect(ours({ topic: "t", partitionMetadata, message: { key: "a", partition: 4, value: "" } })).toBe(4);
    const key = Buffer.from("199.72.81.55");
    expect(ours({ topic: "t", partitionMetadata, message: { key, value: "" } })).toBe(
      Partitioners.DefaultPartitioner()({ topic: "t", partitionMetadata, message: { key, value: "" } }),
    );
    // Keyless: round-robin over the partitions, as kafkajs spreads them.
    const seen = new Set<number>();
    for (let i = 0; i < 12; i++) seen.add(ours({ topic: "t", partitionMetadata, message: { key: null, value: "" } }));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
