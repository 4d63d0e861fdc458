/**
 * logbench's public API: what the notebooks, a user's own Observable Framework data loader, or a script may
 * import (`import { loadConfig, runSql } from "logbench"`). Everything not exported here is internal and may
 * change without notice. See docs/api.md for an example per group.
 *
 * @packageDocumentation
 */

// ─── Effects every reader takes ──────────────────────────────────────────────────────────────────
export type { Context, Logger, LogLevel, Metrics } from "../connectors/context.ts";
export { createLogger, MetricsRegistry, silentContext } from "../connectors/context.ts";
export type { ErrorCode } from "../connectors/errors.ts";
export { isLogbenchError, LogbenchError } from "../connectors/errors.ts";
/** Points in columns written through a store's `writeColumns`, or as points to a store without it. */
export { writeSeriesColumns } from "../connectors/series-columns.ts";
// ─── Connectors (opened from a config) ───────────────────────────────────────────────────────────
export type {
  ArchiveStore,
  Bus,
  BusMessage,
  FileStatus,
  PartitionRange,
  SeriesColumns,
  SeriesPoint,
  SeriesQuery,
  SeriesStore,
} from "../connectors/types.ts";
export { DistinctCounter, HLL_STANDARD_ERROR, SpaceSaving } from "./aggregate/sketches.ts";
export { type WindowSpec, windowLabel, windowSpecs } from "./aggregate/window-spec.ts";
/** LogEvents → Arrow IPC stream (what the daemon's /api/stream.arrow serves and DuckDB-wasm reads). */
export { eventsToArrow } from "./api/arrow.ts";
export { consumerLag, newestArchivePartition } from "./api/status.ts";
// ─── Archive layout ──────────────────────────────────────────────────────────────────────────────
export {
  type Bucket,
  bucketKey,
  bucketOf,
  dayDirName,
  finalPath,
  PART_FILE_GLOB,
  type PartName,
  parseDayDir,
  parseFinalName,
  parseHourDir,
  parsePartName,
  partFileName,
} from "./archive/layout.ts";
/** The config's JSON Schema (editors, `logbench config schema`). */
export { configJsonSchema } from "./config/json-schema.ts";
// ─── Config ──────────────────────────────────────────────────────────────────────────────────────
/** Load and validate a YAML config (`${ENV}` substitution, relative paths, secrets from files). */
export { defaultConfigPath, loadConfig, packageRoot, parseConfig } from "./config/load.ts";
export type { Config, SourceConfig } from "./config/schema.ts";
// ─── Model ───────────────────────────────────────────────────────────────────────────────────────
export { type DeadLetter, LOG_EVENT_COLUMNS, type LogEvent } from "./model/log-event.ts";
export {
  emptyWindowSummary,
  MEASUREMENT_SCHEMA,
  MEASUREMENTS,
  type RankedValue,
  type WindowSummary,
} from "./model/window.ts";
// ─── The query catalog (`logbench query`) ────────────────────────────────────────────────────────
export { type CatalogOptions, createEventsView, runSql, withCatalog } from "./query/catalog.ts";
export {
  type ArchiveFile,
  dayStart,
  listArchive,
  localPaths,
  toLogEvents,
  utcDay,
  withEvents,
} from "./readers/archive.ts";
export { describeConnectors, type Opened, openArchive, openBus, openSeries, using } from "./readers/open.ts";
export { firstLine, reading, SourceError } from "./readers/source-error.ts";
// ─── Readers: stream, live windows, series, archive ──────────────────────────────────────────────
export { readStream } from "./readers/stream.ts";
/** Unique hosts and top-k over any time range, merged from the stored sketches (`logbench query --summary`). */
export { type RangeSummary, type RangeSummaryOptions, rangeSummary, summaryRows } from "./readers/summary.ts";
export { parseInstant } from "./readers/time-range.ts";
export { type WindowPoints, windowsFromPoints } from "./readers/windows.ts";
// ─── Reports (`logbench report`; the notebooks' daily report runs the same panels in DuckDB-wasm) ────
export { type AgentClass, classifyAgent } from "./report/agents.ts";
export { failedRequests, PANEL_DEFS, type PanelDef } from "./report/compute.ts";
export { type DailyReportData, dailyReportData, type ReportDataset, reportDataset } from "./report/dataset.ts";
