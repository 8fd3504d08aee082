import { isAlreadyExists, R, type KubeClient } from '@zfs-runner-hooks/kube';
import { snapshotOwner } from '../build/owner.js';
import { buildSnapshot } from '../build/snapshot.js';
import { ZfsCloneError } from '../errors.js';
import type { VolumeSnapshot } from '../kube-types.js';
import { dnsName } from '../names.js';
import { reownClone } from './create-clone.js';
import { waitForSnapshot } from './wait-for-snapshot.js';

export interface SnapshotBackOptions {
  readonly namespace: string;
  /** The job's clone PVC. */
  readonly pvc: string;
  readonly snapshotClass?: string | undefined;
  readonly cache?: string | undefined;
  readonly parentSnapshot?: string | undefined;
  readonly parentGeneration?: number | undefined;
  readonly runnerPod?: string | undefined;
  /** Until when gc keeps the snapshot if it does not become a generation. */
  readonly expiresAt: Date;
  readonly timeoutSeconds: number;
  readonly onProgress?: (state: string) => void;
}

export interface SnapshotBackResult {
  readonly snapshot: string;
  readonly uid: string;
  readonly restoreSize: string | undefined;
  /** Time from create to ready, ms. */
  readonly readyMs: number;
}

/** Name of the snapshot taken back from clone `pvc`. */
export function snapshotBackName(pvc: string): string {
  return dnsName(`${pvc.replace(/-[0-9a-f]{8}$/, '')}-snap`, pvc);
}

/**
 * Takes a VolumeSnapshot of a job's clone (the job container must be flushed first, see
 * `flushClone`), then makes the snapshot the clone PVC's only owner: deleting a volume
 * destroys its snapshots under zfs-localpv 2.6, so the volume now lives exactly as long as the
 * snapshot, and not as long as the job pod. Waits until the snapshot is ready.
 */
export async function snapshotBack(kube: KubeClient, options: SnapshotBackOptions): Promise<SnapshotBackResult> {
  const { namespace, pvc } = options;
  const name = snapshotBackName(pvc);
  const body = buildSnapshot({
    name,
    namespace,
    pvc,
    role: 'candidate',
    snapshotClass: options.snapshotClass,
    cache: options.cache,
    parentSnapshot: options.parentSnapshot,
    parentGeneration: options.parentGeneration,
    runnerPod: options.runnerPod,
    expiresAt: options.expiresAt,
  });
  const started = Date.now();
  let created: VolumeSnapshot;
  try {
    created = await kube.create({ type: R.volumeSnapshots, namespace }, body);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    created = await kube.get<VolumeSnapshot>({ type: R.volumeSnapshots, namespace, name });
    if (created.spec?.source?.persistentVolumeClaimName !== pvc) {
      throw new ZfsCloneError('SNAPSHOT_FAILED', `VolumeSnapshot "${name}" already exists in namespace "${namespace}" for another PVC.`, { cause: error });
    }
  }
  const uid = created.metadata?.uid;
  if (!uid) throw new ZfsCloneError('SNAPSHOT_FAILED', `VolumeSnapshot "${name}" was created without a uid.`);
  let ready: VolumeSnapshot;
  const waiting = new AbortController();
  try {
    options.onProgress?.('snapshot created, waiting until ready');
    // The hand-over and the wait overlap: the snapshot is ready in about the time the patch takes.
    const handedOver = reownClone(kube, namespace, pvc, snapshotOwner(name, uid)).catch((error: unknown) => {
      waiting.abort();
      throw error;
    });
    const readyNow = waitForSnapshot(kube, { namespace, name, timeoutSeconds: options.timeoutSeconds, onProgress: options.onProgress, signal: waiting.signal });
    [, ready] = await Promise.all([handedOver, readyNow]);
  } catch (error) {
    waiting.abort();
    // A snapshot that never became ready is of no use; do not leave it (nor its clone) behind.
    await kube.delete({ type: R.volumeSnapshots, namespace, name }).catch(() => undefined);
    throw error;
  }
  return { snapshot: name, uid, restoreSize: ready.status?.restoreSize, readyMs: Date.now() - started };
}
