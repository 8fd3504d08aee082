import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { CACHE, MANAGED_BY, MANAGED_BY_VALUE, PARENT_GENERATION, PARENT_SNAPSHOT, ROLE, RUNNER_POD } from '../labels.js';
import { ownerReference, type Owner } from './owner.js';

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
        [MANAGED_BY]: MANAGED_BY_VALUE,
        [ROLE]: 'clone',
        [RUNNER_POD]: spec.runnerPod,
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
