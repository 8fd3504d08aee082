/**
 * The faults the proxy injects, which requests each one hits, and how often.
 */
import type { RequestInfo, StreamKind, Verb } from './request-info.js';

/** Answer with this status (and a Kubernetes `Status` body) without forwarding the request. */
export interface StatusFault {
  readonly kind: 'status';
  readonly status: number;
  /** Sent as `Retry-After` (and `details.retryAfterSeconds`). */
  readonly retryAfterSeconds?: number;
}

/**
 * Read the request, then reset the client's connection before any response. With `afterCommit`
 * the request is forwarded first and the reset comes once the API server has answered: the
 * change happened, the client never learns it.
 */
export interface ResetFault {
  readonly kind: 'reset';
  readonly afterCommit?: boolean;
}

/** Where in a forwarded response a stream fault strikes: the first threshold reached wins. */
export interface StreamThreshold {
  /** After this many bytes of the body. */
  readonly afterBytes?: number;
  /** After this many newline-terminated lines (watch events, log lines). */
  readonly afterEvents?: number;
  /** This long after the response headers were forwarded. */
  readonly afterMs?: number;
}

/**
 * Forward, then end the response at the threshold. `drop` (default): the connection closes after
 * the bytes passed so far, in the middle of the body (the client reads an unfinished response);
 * `reset`: a TCP reset at once (bytes still in flight may be lost with it); `close`: the body
 * ends cleanly, as when the API server ends a watch at its timeout.
 */
export interface CutStreamFault extends StreamThreshold {
  readonly kind: 'cutStream';
  readonly mode?: 'drop' | 'reset' | 'close';
}

/** Forward, then stop passing bytes at the threshold while keeping the client's connection open. */
export interface StallFault extends StreamThreshold {
  readonly kind: 'stall';
}

/**
 * Answer a watch that carries a `resourceVersion` as an expired one: a watch stream whose first
 * event is an `ERROR` with a 410 Status (`as: 'event'`, what the API server does), or HTTP 410.
 */
export interface GoneFault {
  readonly kind: 'gone';
  readonly as?: 'event' | 'status';
}

/**
 * Forward an exec upgrade, then close both connections after this many bytes (or ms) from the
 * server, without a WebSocket close frame: the client reads those bytes, then a lost connection.
 */
export interface DropExecFault {
  readonly kind: 'dropExec';
  readonly afterBytes?: number;
  readonly afterMs?: number;
}

export type Fault = StatusFault | ResetFault | CutStreamFault | StallFault | GoneFault | DropExecFault;

/** Which requests a rule looks at; every field given must hold. */
export interface RequestMatch {
  /** HTTP method (upper case). */
  readonly method?: string;
  readonly verb?: Verb;
  /** `plural` or `plural/subresource`, as in `RequestInfo.resource`. */
  readonly resource?: string;
  readonly group?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly stream?: StreamKind;
  /** Tested against the path without the query string. */
  readonly path?: RegExp;
  /** `RequestInfo.type`, e.g. `watch pods`, `get pods/log (follow)`. */
  readonly type?: string;
}

/**
 * A fault and the requests it hits. Of the requests the match selects, the first `after` are
 * left alone; from then on every `every`-th one is hit, at most `times` in all.
 */
export interface FaultRule {
  readonly fault: Fault;
  /** @default every request */
  readonly match?: RequestMatch;
  /** @default unlimited */
  readonly times?: number;
  /** @default 1 */
  readonly every?: number;
  /** @default 0 */
  readonly after?: number;
}

/** What a fault kind needs of a request besides the rule's match (a 410 needs a watch from a version, a cut a response body). */
function applicable(fault: Fault, info: RequestInfo): boolean {
  switch (fault.kind) {
    case 'gone':
      return info.stream === 'watch' && (info.query['resourceVersion'] ?? '') !== '';
    case 'dropExec':
      return info.stream === 'exec';
    case 'cutStream':
    case 'stall':
      // An upgraded connection is no response body; `dropExec` cuts it.
      return info.stream !== 'exec';
    default:
      return true;
  }
}

/** Whether `rule` selects `info` (before counting). */
export function matches(rule: FaultRule, info: RequestInfo): boolean {
  const m = rule.match ?? {};
  return (
    applicable(rule.fault, info) &&
    (m.method === undefined || m.method.toUpperCase() === info.method) &&
    (m.verb === undefined || m.verb === info.verb) &&
    (m.resource === undefined || m.resource === info.resource) &&
    (m.group === undefined || m.group === info.group) &&
    (m.namespace === undefined || m.namespace === info.namespace) &&
    (m.name === undefined || m.name === info.name) &&
    (m.stream === undefined || m.stream === info.stream) &&
    (m.path === undefined || m.path.test(info.path)) &&
    (m.type === undefined || m.type === info.type)
  );
}

/** Problems with a rule's numbers (a negative count, `every: 0`, a threshold that is not a number). */
export function ruleProblems(rule: FaultRule): string[] {
  const problems: string[] = [];
  const count = (name: string, value: number | undefined, min: number) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min)) problems.push(`${name} must be an integer >= ${min}, got ${String(value)}`);
  };
  count('times', rule.times, 0);
  count('every', rule.every, 1);
  count('after', rule.after, 0);
  const f = rule.fault;
  if (f.kind === 'status') {
    count('status', f.status, 100);
    if (f.status > 599) problems.push(`status must be an HTTP status (100-599), got ${f.status}`);
    count('retry-after', f.retryAfterSeconds, 0);
  }
  if (f.kind === 'cutStream' || f.kind === 'stall' || f.kind === 'dropExec') {
    count('after-bytes', f.afterBytes, 0);
    count('after-ms', f.afterMs, 0);
    if (f.kind !== 'dropExec') count('after-events', f.afterEvents, 0);
    if (f.afterBytes === undefined && f.afterMs === undefined && (f.kind === 'dropExec' || f.afterEvents === undefined)) {
      const word = { cutStream: 'cut-stream', stall: 'stall', dropExec: 'drop-exec' }[f.kind];
      problems.push(`${word} needs after-bytes${f.kind === 'dropExec' ? '' : ', after-events'} or after-ms`);
    }
  }
  return problems;
}
