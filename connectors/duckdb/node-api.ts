/**
 * The DuckDB Node API, loaded with `require`. It is a CommonJS package of about 120 modules; imported from an ES
 * module, Node first scans every one of them for its export names (cjs-module-lexer), which cost about 0.3 s of
 * each command's start (`logbench query "select 1"`). `require` loads the same modules without that scan.
 * Take the classes from here; other types still come from "@duckdb/node-api" (`import type`).
 */
import { createRequire } from "node:module";
import type * as NodeApi from "@duckdb/node-api";

const api = createRequire(import.meta.url)("@duckdb/node-api") as typeof NodeApi;

export const DuckDBInstance = api.DuckDBInstance;
export type DuckDBInstance = NodeApi.DuckDBInstance;
export const DuckDBTimestampMillisecondsValue = api.DuckDBTimestampMillisecondsValue;
export type DuckDBTimestampMillisecondsValue = NodeApi.DuckDBTimestampMillisecondsValue;
