import { isForbidden, R, type KubeClient } from '@zfs-runner-hooks/kube';
import { ZfsCloneError } from '../errors.js';

/**
 * Fails early when a named StorageClass or VolumeSnapshotClass does not exist. Classes are
 * cluster-scoped: without permission to read them (the usual least-privilege Role) the check is
 * skipped and a wrong class shows up as a provisioning event instead.
 */
export async function checkClassExists(kube: KubeClient, kind: 'StorageClass' | 'VolumeSnapshotClass', name: string): Promise<void> {
  const type = kind === 'StorageClass' ? R.storageClasses : R.volumeSnapshotClasses;
  try {
    const found = await kube.find({ type, name });
    if (found) return;
  } catch (error) {
    if (isForbidden(error)) return;
    throw error;
  }
  const variable = kind === 'StorageClass' ? 'ZFS_CLONE_STORAGE_CLASS' : 'ZFS_CLONE_SNAPSHOT_CLASS';
  throw new ZfsCloneError('CONFIG_INVALID', `${kind} "${name}" does not exist.`, {
    hint: `Set ${variable} to an existing ${kind} (ask the cluster administrator which one serves ZFS clones).`,
  });
}
