/**
 * Components describe themselves: a bus, archive, series store or source is one object holding its config
 * schema, its factory, and what it can say about a config (where it points, which hosts and paths it needs).
 * A registry per kind assembles the config schema from its components and dispatches on `type`, so nothing
 * outside a component asks `config.type === "…"` (as Redpanda Connect's components carry their own spec).
 */
import { z } from "zod";
import { LogbenchError } from "./errors.ts";

/** What a component needs from the machine, for permission flags (Deno) and `doctor`. */
export interface Needs {
  /** host:port (or host) it connects to. */
  net?: string[];
  /** Paths it reads. */
  read?: string[];
  /** Paths it writes. */
  write?: string[];
}

/** Given to `resolvePaths`: makes a path absolute against the config file's folder, reads a secret file. */
export interface PathResolver {
  abs(path: string): string;
  /** The secret in a file (trailing newline dropped); `field` names it in errors, never the content. */
  secret(file: string, field: string): string;
}

/** The zod shape every component config has: an object whose `type` is a string literal. */
export type TypedSchema = z.ZodObject<{ type: z.ZodLiteral<string> } & z.ZodRawShape>;

export interface Component<S extends TypedSchema, Runtime, Instance> {
  /** The config `type` value that selects this component. */
  readonly type: z.infer<S>["type"];
  /** Its config schema, with `.describe()` on every field (the editor's hover text and `config schema`). */
  readonly schema: S;
  create(config: z.infer<S>, rt: Runtime): Instance;
  /** Where it points, for start-up lines and messages; never includes a secret. */
  describe(config: z.infer<S>): string;
  /** Hosts and paths it needs, derived from its config. */
  needs?(config: z.infer<S>): Needs;
  /** Make its paths absolute (relative ones are against the config file) and read its secret files, in place. */
  resolvePaths?(config: z.infer<S>, paths: PathResolver): void;
  /** The config key that says where it points (`brokers`, `url`, `dir`): what a user fixes when it is unreachable. */
  readonly addressField: string;
}

// biome-ignore lint/suspicious/noExplicitAny: a registry holds components of any config shape
export type AnyComponent<Runtime = any, Instance = any> = Component<any, Runtime, Instance>;

type SchemasOf<C extends readonly AnyComponent[]> = { -readonly [K in keyof C]: C[K]["schema"] };

type ConfigOf<C extends readonly AnyComponent[]> = z.infer<C[number]["schema"]>;
type RuntimeOf<C extends readonly AnyComponent[]> = Parameters<C[number]["create"]>[1];
type InstanceOf<C extends readonly AnyComponent[]> = ReturnType<C[number]["create"]>;

/** One kind's components: its config schema (a union on `type`) and dispatch on a parsed config. */
export interface Registry<C extends readonly [AnyComponent, ...AnyComponent[]]> {
  readonly kind: string;
  readonly components: C;
  /** The discriminated union of the components' schemas. */
  readonly schema: z.ZodDiscriminatedUnion<SchemasOf<C>>;
  /** The component a parsed config selects (for a kind's own extra methods). */
  component(config: ConfigOf<C>): C[number];
  create(config: ConfigOf<C>, rt: RuntimeOf<C>): InstanceOf<C>;
  describe(config: ConfigOf<C>): string;
  needs(config: ConfigOf<C>): Required<Needs>;
  /** The component's `resolvePaths`, in place; secret fields are named under `<kind>.`. */
  resolvePaths(config: ConfigOf<C>, paths: PathResolver): void;
  /** `<kind>.<addressField>`, e.g. `bus.brokers`. */
  field(config: ConfigOf<C>): string;
}

export function defineRegistry<const C extends readonly [AnyComponent, ...AnyComponent[]]>(
  kind: string,
  components: C,
): Registry<C> {
  const byType = new Map<string, AnyComponent>(components.map((c) => [c.type, c]));
  if (byType.size !== components.length) throw new Error(`two ${kind} components share a type`);
  const schema = z.discriminatedUnion("type", components.map((c) => c.schema) as unknown as SchemasOf<C>);
  const component = (config: { type: string }): AnyComponent => {
    const found = byType.get(config.type);
    if (!found) {
      const known = [...byType.keys()].join(", ");
      throw new LogbenchError("CONFIG", `${kind} type "${config.type}" is not known (known: ${known})`);
    }
    return found;
  };
  return {
    kind,
    components,
    schema,
    component,
    create: (config, rt) => component(config).create(config, rt),
    describe: (config) => component(config).describe(config),
    needs: (config) => {
      const n = component(config).needs?.(config) ?? {};
      return { net: n.net ?? [], read: n.read ?? [], write: n.write ?? [] };
    },
    resolvePaths: (config, paths) =>
      component(config).resolvePaths?.(config, {
        abs: paths.abs,
        secret: (file, field) => paths.secret(file, `${kind}.${field}`),
      }),
    field: (config) => `${kind}.${component(config).addressField}`,
  };
}

/** `host:port` of an http(s) URL (the default port filled in), for `needs().net`. */
export function hostOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
}
