/**
 * Bounded-memory, mergeable sketches for the aggregate stage (DESIGN §4 "Back-pressure, bounded memory"), each with a
 * compact base64 form that is stored with its window (measurement `sketches`) so summaries over any range merge:
 * - SpaceSaving (space-saving.ts): top-k heavy hitters; merged counts too high by at most N/k, never too low;
 * - DistinctCounter (hyperloglog.ts): unique counts, exact while small, then HyperLogLog with 2^14 registers.
 */
export { DistinctCounter, HLL_STANDARD_ERROR, hash32 } from "./hyperloglog.ts";
export { type Ranked, SpaceSaving } from "./space-saving.ts";
