import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { MANAGED_BY, MANAGED_BY_LABEL, type Owner, ownerReference, ROLE_LABEL, RUNNER_POD_LABEL } from '@zfs-runner-hooks/vocabulary';
import { CACHE, PARENT_GENERATION, PARENT_SNAPSHOT } from '../labels.js';

export interface ClonePvcSpec {
  readonly name: string;
  readonly namespace: string;
  /** The VolumeSnapshot to clone (same namespace). */
  readonly snapshot: string;
  /** The snapshot's `status.restoreSize`; zfs-localpv rejects any other size. */
  readonly restoreSize: string;
  /** @default the cluster's default StorageClass */
  readonly storageClass?: string | undefined;
  /** The runner pod the job belongs to (label). */
  readonly runnerPod: string;
  /** The cache cloned, if the source is a cache. */
  readonly cache?: string | undefined;
  /** The cache generation cloned, if the source is a cache. */
  readonly parentGeneration?: number | undefined;
  /** Created owned by the runner pod; re-owned to the job pod once it exists. */
  readonly owner: Owner;
}

/**
 * The PVC of a job's clone: `dataSource` the VolumeSnapshot (a `zfs clone` under zfs-localpv),
 * exactly the snapshot's size, ReadWriteOnce, labelled for the runner, cache and parent.
 */
export function buildClonePvc(spec: ClonePvcSpec): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [ROLE_LABEL]: 'clone',
        [RUNNER_POD_LABEL]: spec.runnerPod,
        ...(spec.cache !== undefined && { [CACHE]: spec.cache }),
        ...(spec.parentGeneration !== undefined && { [PARENT_GENERATION]: String(spec.parentGeneration) }),
      },
      annotations: { [PARENT_SNAPSHOT]: spec.snapshot },
      ownerReferences: [ownerReference(spec.owner)],
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(spec.storageClass !== undefined && { storageClassName: spec.storageClass }),
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: spec.snapshot },
      resources: { requests: { storage: spec.restoreSize } },
    },
  };
}
