import { R, type KubeClient } from '../../packages/kube/src/index.js';
import type { buildRunnerPod } from '../../test/simulator/runner-pod.js';

type V1Pod = ReturnType<typeof buildRunnerPod>;
type Condition = NonNullable<NonNullable<V1Pod['status']>['conditions']>[number];

/** When an observer saw a pod appear and become Ready. */
export interface PodTimes {
  /** `performance.now()` when the watch delivered the pod's ADDED event. */
  addedAt?: number;
  /** `performance.now()` of the first event with condition Ready=True. */
  readyAt?: number;
  /** `performance.now()` of the first event showing a container named `step` terminated (step pods). */
  stepTerminatedAt?: number;
  /** Server timestamps (second resolution): `metadata.creationTimestamp`, Ready's `lastTransitionTime`. */
  created?: string;
  readyTransition?: string;
}

/** A running pod observer. */
export interface PodTimeline {
  readonly times: ReadonlyMap<string, PodTimes>;
  /** The pod's own create→Ready time as observed (ms), or undefined when not seen both. */
  createToReadyMs(name: string): number | undefined;
  /** A step pod's create→step-container-terminated time as observed (ms), or undefined. */
  createToStepTerminatedMs(name: string): number | undefined;
  /** The same from the server's timestamps (whole seconds, so ±1 s). */
  serverCreateToReadyMs(name: string): number | undefined;
  stop(): Promise<void>;
}

function isReady(pod: V1Pod): Condition | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Watches every pod of `namespace` with the admin client and records, per pod, when its ADDED
 * event and its first Ready=True event arrived. Both events travel the same path (API server →
 * watch → this process), so their difference is the pod's own create→Ready time without the
 * hook's part, at millisecond resolution. Starts from a fresh list's resourceVersion and resumes
 * when the server ends the watch. Resolves once the first watch request is under way.
 */
export async function watchPodTimeline(client: KubeClient, namespace: string): Promise<PodTimeline> {
  const times = new Map<string, PodTimes>();
  const stop = new AbortController();
  const list = await client.list<V1Pod>({ type: R.pods, namespace });
  let resourceVersion = list.metadata.resourceVersion;
  const loop = (async () => {
    while (!stop.signal.aborted) {
      try {
        await client.watch<V1Pod>(
          { type: R.pods, namespace },
          (event) => {
            const now = performance.now();
            const pod = event.object;
            if (pod.metadata?.resourceVersion) resourceVersion = pod.metadata.resourceVersion;
            const name = pod.metadata?.name;
            if (!name || event.type === 'BOOKMARK' || event.type === 'ERROR') return;
            let t = times.get(name);
            if (!t) {
              t = {};
              times.set(name, t);
            }
            if (event.type === 'ADDED' && t.addedAt === undefined) t.addedAt = now;
            if (pod.metadata?.creationTimestamp) t.created = String(pod.metadata.creationTimestamp instanceof Date ? pod.metadata.creationTimestamp.toISOString() : pod.metadata.creationTimestamp);
            const step = pod.status?.containerStatuses?.find((c) => c.name === 'step');
            if (step?.state?.terminated && t.stepTerminatedAt === undefined) t.stepTerminatedAt = now;
            const ready = isReady(pod);
            if (ready && t.readyAt === undefined) {
              t.readyAt = now;
              if (ready.lastTransitionTime) t.readyTransition = String(ready.lastTransitionTime instanceof Date ? ready.lastTransitionTime.toISOString() : ready.lastTransitionTime);
            }
          },
          { signal: stop.signal, allowWatchBookmarks: true, timeoutSeconds: 300, ...(resourceVersion ? { resourceVersion } : {}) },
        );
      } catch (error) {
        if (stop.signal.aborted) return;
        // 410 Gone or a dropped connection: start again from a fresh list.
        resourceVersion = (await client.list<V1Pod>({ type: R.pods, namespace }).catch(() => undefined))?.metadata.resourceVersion;
        void error;
      }
    }
  })();
  // Give the watch request time to reach the server before anything is created.
  await new Promise((r) => setTimeout(r, 500));
  return {
    times,
    createToReadyMs(name) {
      const t = times.get(name);
      return t?.addedAt !== undefined && t.readyAt !== undefined ? t.readyAt - t.addedAt : undefined;
    },
    createToStepTerminatedMs(name) {
      const t = times.get(name);
      return t?.addedAt !== undefined && t.stepTerminatedAt !== undefined ? t.stepTerminatedAt - t.addedAt : undefined;
    },
    serverCreateToReadyMs(name) {
      const t = times.get(name);
      return t?.created && t.readyTransition ? Date.parse(t.readyTransition) - Date.parse(t.created) : undefined;
    },
    async stop() {
      stop.abort();
      await loop;
    },
  };
}
