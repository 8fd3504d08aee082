/**
 * What the proxy saw: one record per request, and the questions tests ask of them.
 */
import type { RequestInfo } from './request-info.js';

/** How a request ended, from the client's side. */
export type Outcome =
  /** Still streaming (a watch, a followed log, an exec). */
  | 'open'
  /** The whole response reached the client. */
  | 'completed'
  /** The proxy answered (a status fault, a 410 stream) without forwarding. */
  | 'answered'
  /** The proxy reset the client's connection before any response. */
  | 'reset'
  /** The proxy ended the response mid-body (`cutStream`) or dropped an exec (`dropExec`). */
  | 'cut'
  /** The proxy stopped passing bytes (`stall`). */
  | 'stalled'
  /** The client went away before the response ended. */
  | 'client-closed'
  /** The API server could not be reached or broke the connection. */
  | 'upstream-error';

export interface RecordedRequest extends RequestInfo {
  /** 1, 2, … in arrival order. */
  readonly id: number;
  /** When the request arrived, in ms since the epoch. */
  readonly at: number;
  /** The rule that hit it, in script words. */
  fault: string | undefined;
  /** The status the client received (101 for an accepted upgrade); undefined when it got none. */
  status: number | undefined;
  /** The status the API server answered with; undefined when the request was not forwarded. */
  upstreamStatus: number | undefined;
  outcome: Outcome;
  /** Body bytes (or, after an upgrade, bytes from the server) passed to the client. */
  bytes: number;
  /** When the exchange ended, in ms since the epoch. */
  endedAt: number | undefined;
}

/** Distinct request types (`watch pods`, `create secrets`, …) in order of first appearance. */
export function requestTypes(records: readonly RecordedRequest[]): string[] {
  return [...new Set(records.map((r) => r.type))];
}

/** How many requests of each type. */
export function countByType(records: readonly RecordedRequest[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  return counts;
}

/**
 * Creates the API server accepted (2xx), by resource: what exists because of these requests,
 * whether or not the client saw the answer (a reset after commit).
 */
export function committedCreates(records: readonly RecordedRequest[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) {
    if (r.verb !== 'create' || r.upstreamStatus === undefined || r.upstreamStatus < 200 || r.upstreamStatus > 299) continue;
    const key = r.resource ?? r.path;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** One line a request: `#12 POST /api/v1/namespaces/x/pods → 201 [reset-after-commit] reset`. */
export function formatRecord(r: RecordedRequest): string {
  const query = Object.keys(r.query).length ? `?${new URLSearchParams(r.query as Record<string, string>).toString()}` : '';
  const status = r.status === undefined ? 'no status' : String(r.status);
  const upstream = r.upstreamStatus !== undefined && r.upstreamStatus !== r.status ? ` (API server: ${r.upstreamStatus})` : '';
  return `#${r.id} ${r.method} ${r.path}${query} → ${status}${upstream}${r.fault ? ` [${r.fault}]` : ''} ${r.outcome}`;
}
