import { isGone, isKubeApiError, KubeError } from './errors.js';
import { RetryPolicy, sleep } from './retry.js';
import { noteRecovery } from './stats.js';
import type { KubeClient, ResourceRef } from './types.js';

/** `SYNC`: the object as a (re-)list or `from` found it; the others come from the watch. */
export type WatchUntilEventType = 'SYNC' | 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchUntilEvent<T> {
  readonly type: WatchUntilEventType;
  readonly object: T;
}

/** What a callback returns: a value finishes the wait with it, `undefined` goes on; a throw fails it. */
export type WatchStep<R> = R | undefined | Promise<R | undefined>;

export interface WatchUntilOptions<T, R> {
  readonly labelSelector?: string;
  /** Combined with `metadata.name=<ref.name>` when the ref names one object. */
  readonly fieldSelector?: string;
  /**
   * Called for every object a list found (`SYNC`) and every watch event, one at a time, in order.
   * A re-list delivers objects again as `SYNC`: judge the state, not the transition.
   */
  readonly onEvent: (event: WatchUntilEvent<T>) => WatchStep<R>;
  /**
   * Called after each (re-)list, after its `SYNC` events, with everything it found: an empty list
   * is how a wait on one named object learns the object went away while no watch was open (a
   * deleted object gets no `DELETED` event then).
   */
  readonly onListed?: (objects: readonly T[]) => WatchStep<R>;
  /**
   * Start from a known state instead of a list: `objects` are delivered as `SYNC`, then the watch
   * starts at `resourceVersion` (e.g. the created object's). A `410 Gone` still lists.
   */
  readonly from?: { readonly resourceVersion: string; readonly objects?: readonly T[] } | undefined;
  /** Overall deadline. Omit for none. */
  readonly timeoutMs?: number | undefined;
  /**
   * The error to reject with at the deadline (may be built asynchronously, e.g. with the object's
   * recent events; the streams are closed at once). @default a `KubeError` with code `WATCH_TIMEOUT`
   */
  readonly onDeadline?: () => Error | Promise<Error>;
  /** Aborting rejects the wait. */
  readonly signal?: AbortSignal | undefined;
  /** The error to reject with on abort (may be built asynchronously). @default a `KubeError` with code `WATCH_ABORTED` */
  readonly onAbort?: () => Error | Promise<Error>;
  /** A watch that delivers no event (bookmarks count) for this long is closed and opened again. @default 90000 */
  readonly idleTimeoutMs?: number;
  /** The server-side timeout of each watch request, shorter than `idleTimeoutMs`. @default two thirds of it */
  readonly watchTimeoutSeconds?: number;
  /**
   * When to call `onWake` next (ms since the epoch), asked after every callback; `undefined` for no
   * wake-up. E.g. the end of a grace period that no event may mark.
   */
  readonly wakeAt?: () => number | undefined;
  /** Called at `wakeAt()`, in turn with the other callbacks; same contract as `onEvent`. */
  readonly onWake?: () => WatchStep<R>;
}

/** Backoff between streams that end or break without delivering anything. */
const quietBackoff = new RetryPolicy();

const resourceVersionOf = (object: unknown): string | undefined => {
  const rv = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
};

function describeWatched(ref: ResourceRef, labelSelector: string | undefined, fieldSelector: string | undefined): string {
  const selectors = [labelSelector && `labels ${labelSelector}`, fieldSelector && `fields ${fieldSelector}`].filter(Boolean).join(', ');
  const target = ref.name !== undefined ? `${ref.type.plural} ${JSON.stringify(ref.name)}` : `${ref.type.plural}${selectors ? ` (${selectors})` : ''}`;
  return ref.namespace !== undefined ? `${target} in namespace ${JSON.stringify(ref.namespace)}` : target;
}

/**
 * Waits on a collection (or one named object) until a callback returns a value: lists it
 * (delivering each object as `SYNC`, then `onListed`), watches from the list's resourceVersion with
 * bookmarks, re-watches from the last seen version when a stream ends, breaks or stays idle for
 * `idleTimeoutMs`, and lists again on `410 Gone`. A closed stream is never an outcome; only a
 * callback, the deadline or the signal end the wait. Requests follow the client's retry policy; a
 * list or watch request that still fails rejects. Re-watches and re-lists are counted in
 * `client.stats`.
 */
export function watchUntil<T, R = T>(client: KubeClient, ref: ResourceRef, options: WatchUntilOptions<T, R>): Promise<R> {
  const o = options;
  const collection: ResourceRef = { type: ref.type, namespace: ref.namespace };
  const byName = ref.name !== undefined ? `metadata.name=${ref.name}` : undefined;
  const fieldSelector = [byName, o.fieldSelector].filter(Boolean).join(',') || undefined;
  const selectors = { labelSelector: o.labelSelector, fieldSelector };
  const what = describeWatched(ref, o.labelSelector, o.fieldSelector);
  const idleMs = o.idleTimeoutMs ?? 90_000;
  const watchTimeoutSeconds = o.watchTimeoutSeconds ?? Math.max(1, Math.floor((idleMs * 2) / 3 / 1000));
  const plural = ref.type.plural;

  return new Promise<R>((resolve, reject) => {
    let settled = false;
    const stopped = new AbortController();
    let stream: AbortController | undefined;
    let deadline: NodeJS.Timeout | undefined;
    let wake: NodeJS.Timeout | undefined;
    let chain: Promise<void> = Promise.resolve();

    const finish = (err: unknown, value?: R) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(wake);
      o.signal?.removeEventListener('abort', onAbort);
      stopped.abort();
      stream?.abort();
      if (err instanceof Promise) err.then(reject, reject);
      else if (err) reject(err);
      else resolve(value as R);
    };
    const onAbort = () => finish(o.onAbort?.() ?? new KubeError('WATCH_ABORTED', `stopped waiting for ${what}`, { cause: o.signal?.reason }));
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.timeoutMs !== undefined) {
      const ms = o.timeoutMs;
      deadline = setTimeout(
        () => finish(o.onDeadline?.() ?? new KubeError('WATCH_TIMEOUT', `${what} did not reach the expected state within ${ms / 1000} s`)),
        ms,
      );
    }

    const schedule = () => {
      if (settled || !o.wakeAt || !o.onWake) return;
      clearTimeout(wake);
      const at = o.wakeAt();
      if (at !== undefined) wake = setTimeout(() => void call(o.onWake as () => WatchStep<R>), Math.max(0, at - Date.now()));
    };
    // Callbacks run one at a time, in order: a value finishes, a throw fails, undefined goes on.
    const call = (fn: () => WatchStep<R>): Promise<void> => {
      chain = chain.then(async () => {
        if (settled) return;
        try {
          const value = await fn();
          if (value !== undefined) finish(undefined, value);
          else schedule();
        } catch (err) {
          finish(err);
        }
      });
      return chain;
    };

    /** One watch request; how it ended. */
    const watchOnce = async (from: string | undefined, onVersion: (rv: string) => void): Promise<{ outcome: 'ended' | 'gone' | 'cut'; heard: boolean }> => {
      const own = new AbortController();
      stream = own;
      let heard = false;
      let opened = false;
      let idle: NodeJS.Timeout | undefined;
      // Before the response the client's own timeout applies (and its retries); after it, silence
      // for idleMs closes the stream.
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => own.abort(), idleMs);
      };
      try {
        await client.watch<T>(
          collection,
          async (event) => {
            arm();
            heard = true;
            const rv = resourceVersionOf(event.object);
            if (rv) onVersion(rv);
            if (event.type === 'BOOKMARK' || event.type === 'ERROR') return settled;
            await call(() => o.onEvent({ type: event.type as WatchUntilEventType, object: event.object }));
            return settled;
          },
          {
            ...selectors,
            resourceVersion: from,
            allowWatchBookmarks: true,
            timeoutSeconds: watchTimeoutSeconds,
            idleTimeoutMs: idleMs,
            signal: own.signal,
            onOpen: () => {
              opened = true;
              arm();
            },
          },
        );
        return { outcome: 'ended', heard };
      } catch (err) {
        if (isGone(err)) return { outcome: 'gone', heard };
        const cut = err instanceof KubeError && err.code === 'WATCH_CUT';
        // A throttled or failing server may end an open stream with an ERROR event: watch again.
        const serverEnded = opened && isKubeApiError(err) && (err.status === 429 || err.status >= 500);
        if (cut || serverEnded) return { outcome: 'cut', heard };
        throw err;
      } finally {
        clearTimeout(idle);
      }
    };

    const run = async () => {
      let rv = o.from?.resourceVersion || undefined;
      let needList = o.from === undefined;
      let listed = false;
      let quiet = 0;
      for (const object of o.from?.objects ?? []) await call(() => o.onEvent({ type: 'SYNC', object }));
      let rewatch = false;
      while (!settled) {
        if (needList) {
          if (listed || o.from) noteRecovery(client.stats, 'RELIST', plural);
          listed = true;
          const list = await client.list<T>(collection, { ...selectors, signal: stopped.signal });
          if (settled) return;
          for (const object of list.items) await call(() => o.onEvent({ type: 'SYNC', object }));
          if (o.onListed) await call(() => (o.onListed as (objects: readonly T[]) => WatchStep<R>)(list.items));
          rv = list.metadata.resourceVersion || undefined;
          needList = false;
          rewatch = false;
        }
        if (settled) return;
        if (rewatch) noteRecovery(client.stats, 'REWATCH', plural);
        rewatch = true;
        const started = Date.now();
        const { outcome, heard } = await watchOnce(rv, (v) => (rv = v));
        if (settled) return;
        if (outcome === 'gone') {
          needList = true;
          rv = undefined;
          continue;
        }
        // A stream that brought nothing and lasted under a second: wait before the next one.
        quiet = heard || Date.now() - started >= 1000 ? 0 : quiet + 1;
        if (quiet > 0) await sleep(quietBackoff.backoff(quiet), stopped.signal).catch(() => undefined);
      }
    };
    schedule();
    run().catch((err: unknown) => finish(err));
  });
}
