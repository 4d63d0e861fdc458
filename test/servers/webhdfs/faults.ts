/**
 * Fault injection for the WebHDFS test server: answer with a chosen error, delay answers, reset the
 * connection before or after the operation ran, or take the DataNode off the network.
 */

export type WebHdfsNode = "namenode" | "datanode";

/** Which requests a fault applies to; every given field must match. */
export interface FaultMatch {
  /** WebHDFS op, case-insensitive ("CREATE", "getfilestatus"). */
  op?: string;
  node?: WebHdfsNode;
  /** HTTP method. */
  method?: string;
  /** How many matching requests it hits (default 1; `delay` defaults to every request until `clear`). */
  times?: number;
}

export interface FailSpec extends FaultMatch {
  status: number;
  /**
   * RemoteException name ("StandbyException"). Defaults from the status (400 IllegalArgumentException,
   * 401 SecurityException, 403 IOException, 404 FileNotFoundException, 500 RuntimeException); other
   * statuses, or `null`, answer with a plain-text body as a proxy or load balancer would.
   */
  exception?: string | null;
  javaClassName?: string;
  message?: string;
  headers?: Record<string, string>;
}

export type FaultAction =
  | { kind: "fail"; spec: FailSpec }
  /** Destroy the connection before the operation runs (nothing happened). */
  | { kind: "reset" }
  /** Run the operation, then destroy the connection instead of answering (it happened, the client cannot know). */
  | { kind: "lose" };

interface Armed {
  action: FaultAction | { kind: "delay"; ms: number };
  match: FaultMatch;
  left: number;
}

export class FaultInjector {
  private armed: Armed[] = [];
  private dropped = false;

  constructor(private readonly onDrop: () => void) {}

  /** Answer the next matching request(s) with an error status and RemoteException body. */
  failNext(spec: FailSpec): void {
    this.armed.push({ action: { kind: "fail", spec }, match: spec, left: spec.times ?? 1 });
  }

  /** Reset the connection of the next matching request(s) before doing anything. */
  resetNext(match: FaultMatch = {}): void {
    this.armed.push({ action: { kind: "reset" }, match, left: match.times ?? 1 });
  }

  /** Perform the next matching request(s), then reset the connection instead of answering. */
  loseResponse(match: FaultMatch = {}): void {
    this.armed.push({ action: { kind: "lose" }, match, left: match.times ?? 1 });
  }

  /** Hold matching requests for `ms` before handling them (every match until `clear`, unless `times`). */
  delay(ms: number, match: FaultMatch = {}): void {
    this.armed.push({ action: { kind: "delay", ms }, match, left: match.times ?? Number.POSITIVE_INFINITY });
  }

  /** The DataNode resets every connection (open ones included) until `restoreDataNode`. */
  dropDataNode(): void {
    this.dropped = true;
    this.onDrop();
  }

  restoreDataNode(): void {
    this.dropped = false;
  }

  get dataNodeDropped(): boolean {
    return this.dropped;
  }

  /** Forget every armed fault and bring the DataNode back. */
  clear(): void {
    this.armed = [];
    this.dropped = false;
  }

  /** Faults not yet used up (a test can check that its fault was hit). */
  pending(): number {
    return this.armed.filter((a) => a.left > 0 && Number.isFinite(a.left)).length;
  }

  /** Consumes the faults that apply to one request: the summed delay and the first other action. */
  take(node: WebHdfsNode, method: string, op: string | null): { delayMs: number; action: FaultAction | null } {
    let delayMs = 0;
    let action: FaultAction | null = null;
    for (const armed of this.armed) {
      if (armed.left <= 0 || !matches(armed.match, node, method, op)) continue;
      if (armed.action.kind === "delay") {
        delayMs += armed.action.ms;
        armed.left--;
      } else if (!action) {
        action = armed.action;
        armed.left--;
      }
    }
    this.armed = this.armed.filter((a) => a.left > 0);
    return { delayMs, action };
  }
}

function matches(m: FaultMatch, node: WebHdfsNode, method: string, op: string | null): boolean {
  if (m.node && m.node !== node) return false;
  if (m.method && m.method.toUpperCase() !== method) return false;
  if (m.op && m.op.toUpperCase() !== op) return false;
  return true;
}
