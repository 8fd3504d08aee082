import type { V1ObjectMeta } from '@kubernetes/client-node';

/**
 * `snapshot.storage.k8s.io/v1` VolumeSnapshot, as far as this package reads or writes it
 * (the snapshot CRDs are not part of @kubernetes/client-node).
 */
export interface VolumeSnapshot {
  apiVersion?: 'snapshot.storage.k8s.io/v1';
  kind?: 'VolumeSnapshot';
  metadata?: V1ObjectMeta;
  spec?: {
    source?: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    boundVolumeSnapshotContentName?: string;
    creationTime?: string;
    readyToUse?: boolean;
    restoreSize?: string;
    error?: { time?: string; message?: string };
  };
}

/** `zfs.openebs.io/v1` ZFSPromote (newer zfs-localpv only; detect with `detectCapabilities`). */
export interface ZfsPromote {
  apiVersion: 'zfs.openebs.io/v1';
  kind: 'ZFSPromote';
  metadata: V1ObjectMeta;
  spec: { volumeName: string; ownerNodeID?: string };
  status?: { state?: 'Init' | 'InProgress' | 'Done' | 'Failed'; message?: string };
}
