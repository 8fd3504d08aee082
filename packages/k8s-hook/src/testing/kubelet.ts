import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { FakeKubeClient, FakeObject, Reactor } from '@zfs-runner-hooks/kube/testing';
import { IO_CONTAINER, STEP_CONTAINER } from '../pod/step-pod.js';

/** What the fake kubelet does with the pods the hook creates. */
export interface KubeletScript {
  /** A waiting reason (e.g. `ErrImagePull`) that keeps the pod's containers from starting; undefined: they start. */
  readonly failToStart?: (pod: V1Pod) => string | undefined;
  /** The exit code of a step pod's `step` container. @default 0 */
  readonly stepExitCode?: number;
}

const running = (name: string, image: string | undefined): V1ContainerStatus => ({
  name,
  image: image ?? '',
  imageID: '',
  ready: true,
  restartCount: 0,
  state: { running: { startedAt: new Date() } },
});
const terminated = (name: string, image: string | undefined, exitCode: number): V1ContainerStatus => ({
  name,
  image: image ?? '',
  imageID: '',
  ready: false,
  restartCount: 0,
  state: { terminated: { exitCode } },
});

/** The pod once its containers ran: a step container has exited with `exitCode`, the others run. */
export function podRan(pod: V1Pod, exitCode: number): V1Pod {
  const containers = pod.spec?.containers ?? [];
  return {
    ...pod,
    status: {
      phase: 'Running',
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: containers.some((c) => c.name === STEP_CONTAINER) ? 'False' : 'True' },
      ],
      containerStatuses: containers.map((c) => (c.name === STEP_CONTAINER ? terminated(c.name, c.image, exitCode) : running(c.name, c.image))),
    },
  };
}

/**
 * A reactor that plays the kubelet for new pods: their containers start (or wait with the reason
 * `failToStart` gives). A copy-mode step pod stays held by its `zrh-io` container's postStart hook
 * (all containers waiting) until a test releases it with `finishStepPod`; any other step pod's
 * `step` container exits at once.
 */
export function kubelet(script: KubeletScript = {}): Reactor {
  return (plural, object, fake) => {
    const pod = object as V1Pod;
    if (plural !== 'pods' || pod.status || !pod.metadata?.ownerReferences) return;
    queueMicrotask(() => {
      const reason = script.failToStart?.(pod);
      const containers = pod.spec?.containers ?? [];
      let status: V1Pod['status'];
      if (reason) {
        status = {
          phase: 'Pending',
          containerStatuses: containers.map((c) => ({
            name: c.name,
            image: c.image ?? '',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason, message: `Back-off pulling image "${c.image}"` } },
          })),
        };
      } else if (containers.some((c) => c.name === IO_CONTAINER && c.lifecycle?.postStart)) {
        // The kubelet posts no container as running while the first one's postStart hook runs.
        status = {
          phase: 'Pending',
          containerStatuses: containers.map((c) => ({
            name: c.name,
            image: c.image ?? '',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ContainerCreating' } },
          })),
        };
      } else {
        status = podRan(pod, script.stepExitCode ?? 0).status;
      }
      const current = fake.store.get(`pods/${pod.metadata?.namespace}/${pod.metadata?.name}`);
      if (current) fake.put('pods', { ...current, status } as FakeObject);
    });
  };
}

/** Lets the copy-mode step pod `name` run to its end (its gate released). */
export function finishStepPod(fake: FakeKubeClient, namespace: string, name: string, exitCode: number): void {
  const current = fake.store.get(`pods/${namespace}/${name}`);
  if (current) fake.put('pods', podRan(current as V1Pod, exitCode) as FakeObject);
}
