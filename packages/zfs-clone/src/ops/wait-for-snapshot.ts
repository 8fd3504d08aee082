import { R, watchUntil, type KubeClient } from '@zfs-runner-hooks/kube';
import { ZfsCloneError } from '../errors.js';
import type { VolumeSnapshot } from '../kube-types.js';

export interface WaitForSnapshotOptions {
  readonly namespace: string;
  readonly name: string;
  readonly timeoutSeconds: number;
  readonly onProgress?: (state: string) => void;
  /** Stops the wait (it then rejects). */
  readonly signal?: AbortSignal;
}

/**
 * Snapshot-controller errors that retrying cannot fix: the VolumeSnapshotClass (or the source
 * PVC) does not exist.
 */
const PERMANENT_ERRORS: readonly RegExp[] = [/failed to get snapshot class/i, /persistentvolumeclaims? "[^"]*" not found/i];

/** Whether a VolumeSnapshot's `status.error.message` is one that waiting will not cure. */
export function isPermanentSnapshotError(message: string | undefined): boolean {
  return message !== undefined && PERMANENT_ERRORS.some((re) => re.test(message));
}

/**
 * Watches a VolumeSnapshot until `readyToUse` (`watchUntil`: a stream that ends or breaks is
 * watched again, never taken for an outcome); fails at once on an error that waiting cannot cure
 * (a missing VolumeSnapshotClass) or when the snapshot is deleted, and on timeout reports the
 * controller's last error.
 */
export async function waitForSnapshot(kube: KubeClient, options: WaitForSnapshotOptions): Promise<VolumeSnapshot> {
  const { namespace, name } = options;
  let lastError: string | undefined;
  const gone = () => new ZfsCloneError('SNAPSHOT_FAILED', `VolumeSnapshot "${name}" was deleted while waiting for it.`);
  return watchUntil<VolumeSnapshot, VolumeSnapshot>(
    kube,
    { type: R.volumeSnapshots, namespace, name },
    {
      onEvent: ({ type, object }) => {
        if (type === 'DELETED') throw gone();
        const status = object.status;
        if (status?.error?.message && status.error.message !== lastError) {
          lastError = status.error.message;
          options.onProgress?.(`error: ${lastError}`);
          if (isPermanentSnapshotError(lastError)) {
            throw new ZfsCloneError('SNAPSHOT_FAILED', `VolumeSnapshot "${name}" in namespace "${namespace}" cannot be taken: ${lastError}.`, {
              hint: "Set ZFS_CLONE_SNAPSHOT_CLASS (or the runner's ZFS_CLONE_DEFAULT_SNAPSHOT_CLASS) to an existing VolumeSnapshotClass.",
            });
          }
        }
        return status?.readyToUse === true ? object : undefined;
      },
      onListed: (objects) => {
        if (objects.length === 0) throw gone();
        return undefined;
      },
      timeoutMs: options.timeoutSeconds * 1000,
      onDeadline: () =>
        new ZfsCloneError(
          'TIMEOUT',
          `VolumeSnapshot "${name}" in namespace "${namespace}" is not ready after ${options.timeoutSeconds}s${lastError ? `: the snapshot controller reports "${lastError}"` : ''}.`,
          { hint: 'Check the VolumeSnapshotClass and the CSI snapshotter, or raise ZFS_CLONE_TIMEOUT_SECONDS.' },
        ),
      signal: options.signal,
      onAbort: () => new ZfsCloneError('SNAPSHOT_FAILED', `Stopped waiting for VolumeSnapshot "${name}" in namespace "${namespace}".`),
    },
  );
}
