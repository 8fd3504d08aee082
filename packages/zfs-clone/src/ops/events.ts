import { randomBytes } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import { R, type KubeClient, type ResourceType } from '@zfs-runner-hooks/kube';
import { MANAGED_BY, MANAGED_BY_LABEL } from '@zfs-runner-hooks/vocabulary';
import { CACHE } from '../labels.js';

/** `source.component` and `reportingComponent` of every event this package records. */
export const EVENT_COMPONENT = 'zfs-runner-hooks';

/** The object an event is about, as `kubectl describe` finds it (kind, name and uid). */
export interface EventObject {
  readonly kind: 'PersistentVolumeClaim' | 'VolumeSnapshot' | 'ConfigMap';
  readonly name: string;
  /** Without it, `recordCacheEvent` reads the object's uid (`kubectl describe` matches on it). */
  readonly uid?: string | undefined;
}

/**
 * What happened to a cache, in `kubectl get events` terms.
 * Reasons: `CloneCreated`, `SnapshotTaken`, `Promoted`, `LostRace`, `PromotionRefused`, `Kept`,
 * `GarbageCollected`.
 */
export interface CacheEvent {
  readonly object: EventObject;
  readonly reason: string;
  /** One sentence a user reads in the MESSAGE column; cut to 1024 characters. */
  readonly message: string;
  /** @default 'Normal' */
  readonly type?: 'Normal' | 'Warning';
  /** Labels the event `zrh.dev/cache=<cache>`, so that `zfs-clone status` finds it. */
  readonly cache?: string | undefined;
}

const MESSAGE_MAX = 1024;
const API_VERSIONS: Readonly<Record<EventObject['kind'], string>> = {
  PersistentVolumeClaim: 'v1',
  ConfigMap: 'v1',
  VolumeSnapshot: 'snapshot.storage.k8s.io/v1',
};
const TYPES: Readonly<Record<EventObject['kind'], ResourceType>> = {
  PersistentVolumeClaim: R.persistentVolumeClaims,
  ConfigMap: R.configMaps,
  VolumeSnapshot: R.volumeSnapshots,
};

/** `at` to the second, as the API server stores event times. */
const seconds = (at: Date) => new Date(Math.floor(at.getTime() / 1000) * 1000);

/**
 * A core/v1 Event about `event.object` in `namespace`, reported by `instance` (the runner pod),
 * as kubelets and controllers write them: `count` 1, first and last time `at`. Its name is the
 * object's with a random suffix (unique, so a retried create is recognised). Pure but for the suffix.
 */
export function buildCacheEvent(namespace: string, event: CacheEvent, at: Date, instance: string | undefined): CoreV1Event {
  const { object } = event;
  const message = event.message.length > MESSAGE_MAX ? `${event.message.slice(0, MESSAGE_MAX - 1)}…` : event.message;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: `${object.name.slice(0, 200)}.${randomBytes(8).toString('hex')}`,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, ...(event.cache !== undefined && { [CACHE]: event.cache }) },
    },
    involvedObject: { apiVersion: API_VERSIONS[object.kind], kind: object.kind, name: object.name, namespace, ...(object.uid && { uid: object.uid }) },
    reason: event.reason,
    message,
    type: event.type ?? 'Normal',
    source: { component: EVENT_COMPONENT },
    reportingComponent: EVENT_COMPONENT,
    ...(instance && { reportingInstance: instance.slice(0, 128) }),
    firstTimestamp: seconds(at),
    lastTimestamp: seconds(at),
    count: 1,
  };
}

/** Where `recordCacheEvent` reports that an event could not be recorded. */
export interface EventSink {
  debug(message: string): void;
}

/** How long a job waits at most for one event to be recorded. */
const EVENT_WAIT_MS = 2000;

/**
 * Records `event` on its object, best effort: never throws, and gives up waiting after 2 s (a
 * request still running then is left to finish or to be cut when the client closes). A failure,
 * such as a Role without `events: create`, is logged at debug level.
 */
export async function recordCacheEvent(
  kube: KubeClient,
  namespace: string,
  event: CacheEvent,
  log: EventSink,
  options: { now: () => Date; instance?: string | undefined },
): Promise<void> {
  const attempt = async () => {
    let { uid } = event.object;
    if (!uid) {
      const found = await kube
        .find<{ metadata?: { uid?: string } }>({ type: TYPES[event.object.kind], namespace, name: event.object.name })
        .catch(() => undefined);
      uid = found?.metadata?.uid;
    }
    const body = buildCacheEvent(namespace, { ...event, object: { ...event.object, uid } }, options.now(), options.instance);
    await kube.create({ type: R.events, namespace }, body, undefined, { uniqueName: true });
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), EVENT_WAIT_MS);
    timer.unref();
  });
  const what = `event ${event.reason} on ${event.object.kind} ${event.object.name}`;
  // Settled either way, so that a failure after the wait has ended is still caught.
  const recorded = attempt().then(
    () => undefined,
    (error: unknown) => log.debug(`${what} not recorded: ${error instanceof Error ? error.message : String(error)}`),
  );
  const outcome = await Promise.race([recorded.then(() => 'settled' as const), timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') log.debug(`${what} not recorded within ${EVENT_WAIT_MS} ms; going on without it`);
}

/** An event of a cache as `zfs-clone status` shows it. */
export interface CacheEventLine {
  readonly at: string;
  readonly type: string;
  readonly reason: string;
  /** `Kind/name` of the object it is about. */
  readonly object: string;
  readonly message: string;
}

/**
 * The last `limit` events recorded about cache `cache` (labelled `zrh.dev/cache`), oldest first.
 * Events expire (the API server keeps them an hour by default), so older actions are not listed.
 */
export async function readCacheEvents(kube: KubeClient, namespace: string, cache: string, limit = 10): Promise<CacheEventLine[]> {
  const list = await kube.list<CoreV1Event>({ type: R.events, namespace }, { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY},${CACHE}=${cache}` });
  const time = (e: CoreV1Event) => {
    const at = new Date((e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? Number.NaN) as Date);
    return Number.isNaN(at.getTime()) ? '' : at.toISOString();
  };
  return list.items
    .map((e) => ({
      at: time(e),
      type: e.type ?? '',
      reason: e.reason ?? '',
      object: `${e.involvedObject.kind ?? '?'}/${e.involvedObject.name ?? '?'}`,
      message: e.message ?? '',
    }))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
    .slice(-limit);
}
