import type { RequestStats } from './types.js';

/** What a recovery was: a request sent again, a watch opened again, a list read again. */
export type RecoveryKind = 'RETRY' | 'REWATCH' | 'RELIST' | 'ADOPT';

/**
 * Counts requests by `VERB resource`, and recoveries by `RETRY VERB resource`, `REWATCH resource`,
 * `RELIST resource` and `ADOPT VERB resource` (a retried create that found its own object).
 */
export class StatsCounter implements RequestStats {
  readonly byKind = new Map<string, number>();
  readonly recoveries = new Map<string, number>();
  total = 0;
  retries = 0;
  rewatches = 0;
  relists = 0;

  /** One HTTP request (every attempt of a retried request counts). */
  count(key: string): void {
    this.byKind.set(key, (this.byKind.get(key) ?? 0) + 1);
    this.total++;
  }

  /** One recovery of `kind` for the request or resource `key` (`GET pods`, `pods`). */
  recover(kind: RecoveryKind, key: string): void {
    const name = `${kind} ${key}`;
    this.recoveries.set(name, (this.recoveries.get(name) ?? 0) + 1);
    if (kind === 'RETRY') this.retries++;
    else if (kind === 'REWATCH') this.rewatches++;
    else if (kind === 'RELIST') this.relists++;
  }
}

/** Records a recovery when `stats` counts them (a client from `createKubeClient`; fakes need not). */
export function noteRecovery(stats: RequestStats, kind: RecoveryKind, key: string): void {
  if (stats instanceof StatsCounter) stats.recover(kind, key);
}

/** `12 requests, 2 retries, 1 re-watch, 0 re-lists`, for a debug line. */
export function describeStats(stats: RequestStats): string {
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  return [
    n(stats.total, 'request', 'requests'),
    n(stats.retries ?? 0, 'retry', 'retries'),
    n(stats.rewatches ?? 0, 're-watch', 're-watches'),
    n(stats.relists ?? 0, 're-list', 're-lists'),
  ].join(', ');
}
