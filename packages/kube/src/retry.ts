import { splitHint, withHint } from '@zfs-runner-hooks/vocabulary';
import { KubeApiError, KubeConnectionError, KubeError } from './errors.js';

/** How a request is retried (see ADR 0017). */
export interface RetryOptions {
  /** Time one request may take over all its attempts: no attempt starts after it. @default 60000 */
  readonly deadlineMs?: number;
  /** Attempts per request, the first included; 1 turns retries off. @default 15 */
  readonly maxAttempts?: number;
  /** Backoff before the second attempt; it doubles per attempt, with jitter. @default 100 */
  readonly baseDelayMs?: number;
  /** Longest backoff between two attempts. @default 5000 */
  readonly maxDelayMs?: number;
  /** Longest `Retry-After` honoured; a longer one waits this long. @default 30000 */
  readonly maxRetryAfterMs?: number;
}

/**
 * What may be sent again:
 * - `idempotent` (GET, LIST, WATCH, PUT, DELETE, merge/strategic/apply PATCH, a named create):
 *   429, 500, 502, 503, 504, and connection failures before a response;
 * - `unprocessed` (a create with `generateName`, a subresource create, a JSON patch): only
 *   answers the server gives before doing anything (429, 503) and connections never made;
 * - `upgrade` (the exec websocket): 429 and 5xx answers and connections never made, never once
 *   the upgrade succeeded.
 */
export type RetryMode = 'idempotent' | 'unprocessed' | 'upgrade';

/** Failures where the request certainly did not reach the server. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
/** Failures after the request may have been sent, before a response. */
const LOST = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

const STATUSES: Record<RetryMode, ReadonlySet<number>> = {
  idempotent: new Set([429, 500, 502, 503, 504]),
  unprocessed: new Set([429, 503]),
  upgrade: new Set([429, 500, 502, 503, 504]),
};

/** The system error code (`ECONNRESET`, …) under a `KubeConnectionError`, if any. */
export function errnoOf(err: unknown): string | undefined {
  let cur: unknown = err instanceof KubeConnectionError ? err.cause : err;
  for (let depth = 0; depth < 4 && cur && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('E')) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Parses a `Retry-After` header (seconds or an HTTP date) into seconds. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** What to do after a failed attempt. */
export type RetryDecision = { readonly retry: true; readonly delayMs: number } | { readonly retry: false; readonly error: unknown };

/** The retry policy of one client: which failures are retried, how long to wait, when to give up. */
export class RetryPolicy {
  readonly deadlineMs: number;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRetryAfterMs: number;

  constructor(options: RetryOptions = {}) {
    this.deadlineMs = options.deadlineMs ?? 60_000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 15);
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  }

  /** Capped exponential backoff before attempt `attempt + 1`, with jitter in its upper half. */
  backoff(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.max(0, attempt - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  /** How long to wait before sending again after `err`, or `undefined` when it is not retried. */
  delayFor(err: unknown, attempt: number, mode: RetryMode): number | undefined {
    if (err instanceof KubeApiError) {
      if (!STATUSES[mode].has(err.status)) return undefined;
      const after = err.retryAfterSeconds === undefined ? 0 : Math.min(err.retryAfterSeconds * 1000, this.maxRetryAfterMs);
      return Math.max(after, this.backoff(attempt));
    }
    if (err instanceof KubeConnectionError) {
      const code = errnoOf(err);
      if (code === undefined) return undefined;
      if (NOT_SENT.has(code) || (mode === 'idempotent' && LOST.has(code))) return this.backoff(attempt);
    }
    return undefined;
  }

  /** After attempt `attempt` (started at `startedAt`) failed with `err`: retry after a delay, or fail. */
  decide(err: unknown, attempt: number, startedAt: number, mode: RetryMode): RetryDecision {
    const delayMs = this.delayFor(err, attempt, mode);
    if (delayMs === undefined) return { retry: false, error: err };
    const elapsed = Date.now() - startedAt;
    if (attempt >= this.maxAttempts || elapsed + delayMs > this.deadlineMs) return { retry: false, error: gaveUp(err, attempt, elapsed) };
    return { retry: true, delayMs };
  }

  /**
   * Runs `attempt` until it succeeds, fails in a way `mode` does not retry, or the attempts or the
   * deadline run out. `onRetry` is called before each new attempt; aborting `signal` stops the wait.
   */
  async run<T>(
    mode: RetryMode,
    attempt: (n: number) => Promise<T>,
    options: { readonly signal?: AbortSignal | undefined; readonly onRetry?: () => void } = {},
  ): Promise<T> {
    const startedAt = Date.now();
    for (let n = 1; ; n++) {
      try {
        return await attempt(n);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        const decision = this.decide(err, n, startedAt, mode);
        if (!decision.retry) throw decision.error;
        options.onRetry?.();
        await sleep(decision.delayMs, options.signal);
      }
    }
  }
}

/** Resolves after `ms`; rejects with an `AbortError` when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => Object.assign(new Error('The operation was aborted'), { name: 'AbortError', cause: signal?.reason });
    if (signal?.aborted) return reject(aborted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The last failure of a request the policy gave up on, its message saying how many attempts were
 * made over how long; its class, code, status and hint stay.
 */
function gaveUp(err: unknown, attempts: number, elapsedMs: number): unknown {
  if (!(err instanceof KubeError)) return err;
  const tries = `gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} in ${seconds(elapsedMs)}`;
  err.message = withHint(`${splitHint(err).message}; ${tries}`, err.hint);
  return err;
}
