import type { V1ConfigMap, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { R, type KubeClient } from '@zfs-runner-hooks/kube';
import type { CloneSource } from '../config/source.js';
import { ZfsCloneError } from '../errors.js';
import type { VolumeSnapshot } from '../kube-types.js';
import { parseHead } from '../lineage/head.js';
import { candidateVolumeLoss, describeVolumeLoss } from '../lineage/volume-loss.js';
import { headConfigMapName } from '../names.js';

/** A source checked against the cluster: what to clone and at what size. */
export interface ResolvedSource {
  /** The ready VolumeSnapshot to clone. */
  readonly snapshot: string;
  /** Its `status.restoreSize`: the exact size the clone PVC must request. */
  readonly restoreSize: string;
  /** The snapshot's VolumeSnapshotClass (default for snapshots taken back). */
  readonly snapshotClass: string | undefined;
  /** The StorageClass of the snapshot's source PVC, when that PVC still exists. */
  readonly storageClass: string | undefined;
  /** The cache and generation cloned, for a cache source. */
  readonly cache?: { readonly name: string; readonly generation: number } | undefined;
  /** The repositories the cache head records as allowed to promote it (`zrh.dev/repositories`), if any. */
  readonly repositories?: readonly string[] | undefined;
}

/**
 * Checks that a source exists in `namespace` and is ready, and reads its size. A cache source
 * resolves to the snapshot its head points at. Errors say what is wrong and what to do.
 */
export async function resolveSource(kube: KubeClient, namespace: string, source: CloneSource): Promise<ResolvedSource> {
  let snapshotName = source.name;
  let cache: ResolvedSource['cache'];
  let repositories: readonly string[] | undefined;
  if (source.kind === 'cache') {
    const cm = await kube.find<V1ConfigMap>({ type: R.configMaps, namespace, name: headConfigMapName(source.name) });
    if (!cm) {
      throw new ZfsCloneError(
        'SOURCE_UNAVAILABLE',
        `Cache "${source.name}" does not exist in namespace "${namespace}" (no ConfigMap "${headConfigMapName(source.name)}").`,
        { hint: `Check ZFS_CLONE_SOURCE, run the job in the cache's namespace, or create the cache with \`zfs-clone seed ${source.name} --from-pvc <pvc>\`.` },
      );
    }
    const head = parseHead(cm);
    snapshotName = head.snapshot;
    cache = { name: source.name, generation: head.generation };
    repositories = head.repositories;
  }
  const what = cache ? `VolumeSnapshot "${snapshotName}" (head of cache "${cache.name}", generation ${cache.generation})` : `VolumeSnapshot "${snapshotName}"`;
  const snapshot = await kube.find<VolumeSnapshot>({ type: R.volumeSnapshots, namespace, name: snapshotName });
  if (!snapshot) {
    throw new ZfsCloneError('SOURCE_UNAVAILABLE', `${what} does not exist in namespace "${namespace}".`, {
      hint: cache
        ? `The cache head is dangling; move it with \`zfs-clone rollback ${cache.name}\`.`
        : "A clone can only come from a snapshot in the job's own namespace; check ZFS_CLONE_SOURCE.",
    });
  }
  if (snapshot.status?.readyToUse !== true) {
    const reported = snapshot.status?.error?.message;
    throw new ZfsCloneError(
      'SOURCE_UNAVAILABLE',
      `${what} in namespace "${namespace}" is not ready (readyToUse=${String(snapshot.status?.readyToUse ?? false)})${reported ? `: the snapshot controller reports "${reported}"` : ''}.`,
      { hint: 'Wait for it, check its VolumeSnapshotClass, or choose another source.' },
    );
  }
  const restoreSize = snapshot.status.restoreSize;
  if (!restoreSize) {
    throw new ZfsCloneError('SOURCE_UNAVAILABLE', `${what} in namespace "${namespace}" reports no restoreSize, so the clone size is unknown.`, {
      hint: 'Check the CSI driver of its VolumeSnapshotClass.',
    });
  }
  const sourcePvc = snapshot.spec?.source?.persistentVolumeClaimName;
  const pvc = sourcePvc ? await kube.find<V1PersistentVolumeClaim>({ type: R.persistentVolumeClaims, namespace, name: sourcePvc }) : undefined;
  const loss = sourcePvc ? candidateVolumeLoss(snapshot, pvc) : undefined;
  if (sourcePvc && loss) {
    throw new ZfsCloneError(
      'SOURCE_UNAVAILABLE',
      `${what} in namespace "${namespace}" is a job's snapshot that has lost its volume: ${describeVolumeLoss(sourcePvc, loss)}, and under ZFS a snapshot goes with its volume, so a clone of it would stay Pending although it says readyToUse.`,
      { hint: "Choose another source; `zfs-clone gc` deletes a job's snapshot that lost its volume (a kept one once its keep time has run out)." },
    );
  }
  return {
    snapshot: snapshotName,
    restoreSize,
    snapshotClass: snapshot.spec?.volumeSnapshotClassName,
    storageClass: pvc?.spec?.storageClassName,
    cache,
    repositories,
  };
}
