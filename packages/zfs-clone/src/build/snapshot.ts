import type { VolumeSnapshot } from '../kube-types.js';
import { MANAGED_BY, MANAGED_BY_LABEL, ROLE_LABEL, RUNNER_POD_LABEL } from '@zfs-runner-hooks/vocabulary';
import { CACHE, EXPIRES_AT, GENERATION, PARENT_GENERATION, PARENT_SNAPSHOT, type Role } from '../labels.js';

export interface SnapshotSpec {
  readonly name: string;
  readonly namespace: string;
  /** The PVC to snapshot (same namespace). */
  readonly pvc: string;
  /** @default the cluster's default VolumeSnapshotClass for the driver */
  readonly snapshotClass?: string | undefined;
  /** `candidate` for a job's snapshot-back, `generation` for a seed. */
  readonly role: Extract<Role, 'candidate' | 'generation'>;
  readonly cache?: string | undefined;
  /** Generation number, for a seed. */
  readonly generation?: number | undefined;
  readonly parentGeneration?: number | undefined;
  readonly parentSnapshot?: string | undefined;
  readonly runnerPod?: string | undefined;
  /** When gc may delete it unless it became a generation. */
  readonly expiresAt?: Date | undefined;
}

/** A VolumeSnapshot of a PVC, labelled for its cache and parent. */
export function buildSnapshot(spec: SnapshotSpec): VolumeSnapshot {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [ROLE_LABEL]: spec.role,
        ...(spec.cache !== undefined && { [CACHE]: spec.cache }),
        ...(spec.generation !== undefined && { [GENERATION]: String(spec.generation) }),
        ...(spec.parentGeneration !== undefined && { [PARENT_GENERATION]: String(spec.parentGeneration) }),
        ...(spec.runnerPod !== undefined && { [RUNNER_POD_LABEL]: spec.runnerPod }),
      },
      annotations: {
        ...(spec.parentSnapshot !== undefined && { [PARENT_SNAPSHOT]: spec.parentSnapshot }),
        ...(spec.expiresAt !== undefined && { [EXPIRES_AT]: spec.expiresAt.toISOString() }),
      },
    },
    spec: {
      source: { persistentVolumeClaimName: spec.pvc },
      ...(spec.snapshotClass !== undefined && { volumeSnapshotClassName: spec.snapshotClass }),
    },
  };
}
