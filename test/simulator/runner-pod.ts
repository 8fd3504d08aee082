import { randomBytes } from 'node:crypto';
import { ApiException, type CoreV1Api, type V1Affinity, type V1PersistentVolume, type V1PersistentVolumeClaim, type V1Pod } from '@kubernetes/client-node';

/** The workspace modes the runner pod can be set up for, as ARC renders them. */
export type WorkMode = 'volume' | 'copy';

/** Where the runner pod may be scheduled: any node, only the real node(s), only kwok nodes. */
export type Placement = 'any' | 'real' | 'kwok';

/** The runner pod, as ARC would create it for one ephemeral runner. */
export interface RunnerPodSpec {
  readonly namespace: string;
  /** @default `runner-<random>` */
  readonly name?: string;
  /** `volume`: a generic ephemeral `work` volume at /home/runner/_work (ARC `kubernetes` mode); `copy`: none (`kubernetes-novolume`). */
  readonly mode: WorkMode;
  /** @default 'zrh.local/busybox:1' */
  readonly image?: string;
  /** StorageClass of the work claim. @default 'csi-hostpath' */
  readonly storageClassName?: string;
  /** @default '1Gi' */
  readonly workSize?: string;
  /** @default 'any' */
  readonly placement?: Placement;
  /**
   * Where the work volume is mounted in the runner container: the runner's `_work` path.
   * @default RUNNER_WORK_PATH
   */
  readonly workPath?: string;
  /** Extra env of the runner container (the hook reads the runner pod spec). */
  readonly env?: Readonly<Record<string, string>>;
}

/** The runner pod as created, with what the simulator needs to know about it. */
export interface RunnerPodInfo {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly nodeName: string;
  readonly mode: WorkMode;
  /** The work claim (`<pod>-work`) in volume mode. */
  readonly claimName?: string;
  /** The work claim's PersistentVolume in volume mode. */
  readonly volume?: V1PersistentVolume;
}

/** Where ARC mounts the work volume in the runner container. */
export const RUNNER_WORK_PATH = '/home/runner/_work';

/** A fresh runner pod name like ARC's (`<scale-set>-<random>-runner-<random>`, shortened). */
export function runnerPodName(): string {
  return `runner-${randomBytes(4).toString('hex')}`;
}

function placementAffinity(placement: Placement): V1Affinity | undefined {
  if (placement === 'any') return undefined;
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'type', operator: placement === 'kwok' ? 'In' : 'NotIn', values: ['kwok'] }] }],
      },
    },
  };
}

/** Builds the runner pod (pure). */
export function buildRunnerPod(spec: RunnerPodSpec & { readonly name: string }): V1Pod {
  const volumeMode = spec.mode === 'volume';
  const affinity = placementAffinity(spec.placement ?? 'any');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      labels: { 'app.kubernetes.io/component': 'runner', 'zrh.test/runner-simulator': 'true' },
    },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      securityContext: { fsGroup: 123 },
      ...(affinity ? { affinity } : {}),
      containers: [
        {
          name: 'runner',
          image: spec.image ?? 'zrh.local/busybox:1',
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', '86400'],
          env: [
            { name: 'ACTIONS_RUNNER_CONTAINER_HOOKS', value: '/home/runner/k8s/index.js' },
            { name: 'ACTIONS_RUNNER_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER', value: 'true' },
            ...Object.entries(spec.env ?? {}).map(([name, value]) => ({ name, value })),
          ],
          ...(volumeMode ? { volumeMounts: [{ name: 'work', mountPath: spec.workPath ?? RUNNER_WORK_PATH }] } : {}),
        },
      ],
      ...(volumeMode
        ? {
            volumes: [
              {
                name: 'work',
                ephemeral: {
                  volumeClaimTemplate: {
                    spec: {
                      accessModes: ['ReadWriteOnce'],
                      storageClassName: spec.storageClassName ?? 'csi-hostpath',
                      resources: { requests: { storage: spec.workSize ?? '1Gi' } },
                    },
                  },
                },
              },
            ],
          }
        : {}),
    },
  };
}

/** Waiting reasons that mean the pod will never start. */
export const FATAL_WAITING = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

/** Calls `probe` until it returns a value, failing with `what` after `timeoutMs`. */
export async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * The API calls `createRunnerPod` makes, so that any client can create runner pods:
 * `coreV1RunnerPods` adapts a CoreV1Api of @kubernetes/client-node (the benchmarks adapt the
 * project's own client).
 */
export interface RunnerPodApi {
  createPod(namespace: string, pod: V1Pod): Promise<V1Pod>;
  readPod(namespace: string, name: string): Promise<V1Pod>;
  readClaim(namespace: string, name: string): Promise<V1PersistentVolumeClaim>;
  readVolume(name: string): Promise<V1PersistentVolume>;
}

/** `RunnerPodApi` over a CoreV1Api. */
export function coreV1RunnerPods(core: CoreV1Api): RunnerPodApi {
  return {
    createPod: (namespace, body) => core.createNamespacedPod({ namespace, body }),
    readPod: (namespace, name) => core.readNamespacedPod({ namespace, name }),
    readClaim: (namespace, name) => core.readNamespacedPersistentVolumeClaim({ namespace, name }),
    readVolume: (name) => core.readPersistentVolume({ name }),
  };
}

/**
 * Creates the runner pod, waits until it is Ready (and, in volume mode, until its work claim is
 * bound), and returns what the simulator needs. Fails fast when the image cannot be used.
 */
export async function createRunnerPod(api: RunnerPodApi, spec: RunnerPodSpec, timeoutMs = 120_000): Promise<RunnerPodInfo> {
  const name = spec.name ?? runnerPodName();
  const created = await api.createPod(spec.namespace, buildRunnerPod({ ...spec, name }));
  const pod = await poll(`runner pod ${spec.namespace}/${name} to be Ready`, timeoutMs, async () => {
    const current = await api.readPod(spec.namespace, name);
    for (const status of current.status?.containerStatuses ?? []) {
      const reason = status.state?.waiting?.reason;
      if (reason && FATAL_WAITING.has(reason)) {
        throw new Error(`runner pod ${spec.namespace}/${name}: ${reason}: ${status.state?.waiting?.message ?? ''}`);
      }
    }
    if (current.status?.phase === 'Failed' || current.status?.phase === 'Succeeded') {
      throw new Error(`runner pod ${spec.namespace}/${name} ended (${current.status.phase}): ${current.status.message ?? ''}`);
    }
    const ready = current.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    return ready ? current : undefined;
  });
  const info = {
    name,
    namespace: spec.namespace,
    uid: created.metadata?.uid ?? '',
    nodeName: pod.spec?.nodeName ?? '',
    mode: spec.mode,
  };
  if (spec.mode === 'copy') return info;
  const claimName = `${name}-work`;
  const volume = await poll(`work claim ${spec.namespace}/${claimName} to be bound`, timeoutMs, async () => {
    const claim = await api.readClaim(spec.namespace, claimName);
    const volumeName = claim.spec?.volumeName;
    if (claim.status?.phase !== 'Bound' || !volumeName) return undefined;
    return api.readVolume(volumeName);
  });
  return { ...info, claimName, volume };
}

/**
 * The host folder behind a host-path CSI volume: the driver publishes it as the volume context's
 * `hostPath`, which the provisioner copies into `spec.csi.volumeAttributes`.
 */
export function hostPathOfVolume(pv: V1PersistentVolume): string | undefined {
  return pv.spec?.csi?.volumeAttributes?.['hostPath'];
}

/** Deletes the runner pod (its ephemeral work claim goes with it); false when it was already gone. */
export async function deleteRunnerPod(core: CoreV1Api, pod: { readonly name: string; readonly namespace: string }): Promise<boolean> {
  try {
    await core.deleteNamespacedPod({ name: pod.name, namespace: pod.namespace, gracePeriodSeconds: 0 });
    return true;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return false;
    throw error;
  }
}
