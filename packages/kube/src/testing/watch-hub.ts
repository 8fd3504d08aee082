import type { ResourceRef, WatchEvent, WatchHandler, WatchOptions } from '../types.js';
import type { FakeObject } from './fake-types.js';
import { matchesFields, matchesLabels } from './selectors.js';

/** An open watch. */
interface Watcher {
  readonly plural: string;
  readonly namespace: string | undefined;
  deliver(event: WatchEvent<FakeObject>): void;
  end(error?: unknown): void;
}

const copy = <T>(value: T): T => structuredClone(value);

/**
 * The watch side of `FakeKubeClient`: every change with its resourceVersion (until compacted), and
 * the open watches, each fed its events one at a time, in order, like a stream.
 */
export class WatchHub {
  private readonly history: { plural: string; namespace: string | undefined; rv: number; event: WatchEvent<FakeObject> }[] = [];
  private readonly watchers = new Set<Watcher>();
  /** Watches from a version below this one answer 410 Gone. */
  oldestWatchable = 0;

  /** Records a change and tells the open watches of its resource. */
  publish(plural: string, namespace: string | undefined, event: WatchEvent<FakeObject>): void {
    this.history.push({ plural, namespace, rv: Number(event.object.metadata?.resourceVersion), event: copy(event) });
    for (const w of [...this.watchers]) if (w.plural === plural && (w.namespace === undefined || w.namespace === namespace)) w.deliver(copy(event));
  }

  /** Forgets the changes up to `version`. */
  compact(version: number): void {
    this.oldestWatchable = version;
    this.history.length = 0;
  }

  /** Whether a watch from `from` can no longer be served (410 Gone). */
  isGone(from: number): boolean {
    return !(from >= this.oldestWatchable);
  }

  /** The changes after `from`, of a resource (in a namespace, or all). */
  since(plural: string, namespace: string | undefined, from: number): WatchEvent<FakeObject>[] {
    return this.history.filter((h) => h.plural === plural && (namespace === undefined || h.namespace === namespace) && h.rv > from).map((h) => copy(h.event));
  }

  count(plural?: string): number {
    return [...this.watchers].filter((w) => plural === undefined || w.plural === plural).length;
  }

  /** Ends the open watches of `plural` (all when undefined): with `errorFor`'s error, else resolved. */
  end(plural: string | undefined, errorFor?: (namespace: string | undefined) => Error): void {
    for (const w of [...this.watchers]) if (plural === undefined || w.plural === plural) w.end(errorFor?.(w.namespace));
  }

  /** Opens a watch that first delivers `backlog`, then every change published, until the handler, the signal or `end` stops it. */
  open<T>(ref: ResourceRef, handler: WatchHandler<T>, options: WatchOptions, backlog: readonly WatchEvent<FakeObject>[]): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      let done = false;
      let chain: Promise<void> = Promise.resolve();
      const finish = (error: unknown, value?: T) => {
        if (done) return;
        done = true;
        this.watchers.delete(watcher);
        options.signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(value);
      };
      const onAbort = () => finish(undefined);
      const watcher: Watcher = {
        plural: ref.type.plural,
        namespace: ref.namespace,
        deliver: (event) => {
          if (done || !matchesLabels(event.object.metadata?.labels, options.labelSelector) || !matchesFields(event.object, options.fieldSelector)) return;
          chain = chain.then(async () => {
            if (done) return;
            try {
              if (await handler(event as WatchEvent<T>)) finish(undefined, event.object as T);
            } catch (err) {
              finish(err);
            }
          });
        },
        // After the events already delivered, like the end of a stream.
        end: (error) => void chain.then(() => finish(error)),
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.watchers.add(watcher);
      options.onOpen?.();
      for (const event of backlog) watcher.deliver(event);
    });
  }
}
