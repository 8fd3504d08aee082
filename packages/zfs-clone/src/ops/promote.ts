import type { V1ConfigMap, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { isConflict, isNotFound, R, type KubeClient } from '@zfs-runner-hooks/kube';
import { ZfsCloneError } from '../errors.js';
import type { VolumeSnapshot } from '../kube-types.js';
import { ROLE_LABEL } from '@zfs-runner-hooks/vocabulary';
import { EXPIRES_AT, GENERATION, HEAD_CLAIMED_AT } from '../labels.js';
import type { CacheHead } from '../lineage/graph.js';
import { advanceHead, buildHeadConfigMap, parseHead } from '../lineage/head.js';
import { candidateVolumeLoss, describeVolumeLoss } from '../lineage/volume-loss.js';
import { headConfigMapName } from '../names.js';

export interface PromoteOptions {
  readonly namespace: string;
  readonly cache: string;
  /** The ready snapshot to make the head. */
  readonly snapshot: string;
  /** The head this job cloned; the promotion only succeeds if it is still the head. */
  readonly expected: { readonly generation: number; readonly snapshot: string };
  /** Who promotes, recorded in the history. */
  readonly by?: string | undefined;
  readonly now?: () => Date;
  /**
   * The snapshot this caller made: right before the head moves, the snapshot must still be that
   * object (same uid) of that PVC, besides ready and not being deleted.
   */
  readonly made?: { readonly uid: string; readonly pvc: string } | undefined;
  /** A last check of the head about to be moved (e.g. who may promote it): a reason refuses the promotion. */
  readonly admit?: ((head: CacheHead) => string | undefined) | undefined;
}

export type PromoteResult =
  | { readonly outcome: 'promoted'; readonly head: CacheHead }
  /** Another job moved the head first: this snapshot is not the head. */
  | { readonly outcome: 'lost'; readonly head: CacheHead }
  /** `admit` refused the head: nothing changed. */
  | { readonly outcome: 'refused'; readonly head: CacheHead; readonly reason: string };

/** Reads a cache head and its resourceVersion. */
export async function readHead(kube: KubeClient, namespace: string, cache: string): Promise<{ head: CacheHead; resourceVersion: string }> {
  const cm = await kube.find<V1ConfigMap>({ type: R.configMaps, namespace, name: headConfigMapName(cache) });
  if (!cm) {
    throw new ZfsCloneError('CACHE_INVALID', `Cache "${cache}" does not exist in namespace "${namespace}".`, {
      hint: `Create it with \`zfs-clone seed ${cache} --from-pvc <pvc>\`.`,
    });
  }
  return { head: parseHead(cm), resourceVersion: cm.metadata?.resourceVersion ?? '' };
}

/**
 * Checks that a snapshot exists, is ready and is not being deleted before anything points at it;
 * with `made`, also that it is still the object the caller created (its uid, of its PVC).
 */
export async function requireReadySnapshot(
  kube: KubeClient,
  namespace: string,
  name: string,
  made?: { readonly uid: string; readonly pvc: string },
): Promise<VolumeSnapshot> {
  const snapshot = await kube.find<VolumeSnapshot>({ type: R.volumeSnapshots, namespace, name });
  if (!snapshot) throw new ZfsCloneError('PROMOTE_FAILED', `VolumeSnapshot "${name}" does not exist in namespace "${namespace}".`);
  if (snapshot.metadata?.deletionTimestamp) {
    throw new ZfsCloneError('PROMOTE_FAILED', `VolumeSnapshot "${name}" in namespace "${namespace}" is being deleted; a cache head never moves to it.`);
  }
  if (made && (snapshot.metadata?.uid !== made.uid || snapshot.spec?.source?.persistentVolumeClaimName !== made.pvc)) {
    throw new ZfsCloneError(
      'PROMOTE_FAILED',
      `VolumeSnapshot "${name}" in namespace "${namespace}" is no longer the snapshot of PVC "${made.pvc}" this job took (uid ${made.uid}, found ${snapshot.metadata?.uid ?? 'none'} of PVC "${snapshot.spec?.source?.persistentVolumeClaimName ?? '?'}"); the head was not moved.`,
    );
  }
  if (snapshot.status?.readyToUse !== true) {
    throw new ZfsCloneError(
      'PROMOTE_FAILED',
      `VolumeSnapshot "${name}" in namespace "${namespace}" is not ready; a cache head only moves to ready snapshots.`,
      {
        hint: 'Wait until it is ready and try again.',
      },
    );
  }
  return snapshot;
}

/**
 * Claims a snapshot for a cache head and then checks it like {@link requireReadySnapshot}: call
 * it right before the head's compare-and-swap. The claim is a write to the snapshot (annotation
 * `zrh.dev/head-claimed-at`), so it gets a new resourceVersion; gc deletes a snapshot only in the
 * version it planned with. Either gc's delete came first, and the check sees the snapshot being
 * deleted (or gone) and the head does not move, or the claim came first, and gc's delete fails its
 * precondition and leaves the snapshot. A gc that read the head before it moved never deletes the
 * snapshot it moved to.
 */
export async function claimForHead(
  kube: KubeClient,
  namespace: string,
  name: string,
  at: Date,
  made?: { readonly uid: string; readonly pvc: string },
): Promise<VolumeSnapshot> {
  try {
    await kube.patch({ type: R.volumeSnapshots, namespace, name }, { metadata: { annotations: { [HEAD_CLAIMED_AT]: at.toISOString() } } }, 'merge');
  } catch (error) {
    // A missing snapshot is reported by the check, with its own message.
    if (!isNotFound(error)) throw error;
  }
  const snapshot = await requireReadySnapshot(kube, namespace, name, made);
  await requireSourceVolume(kube, namespace, snapshot);
  return snapshot;
}

/**
 * Checks that the PVC a snapshot was taken of still exists and is not being deleted, and for a
 * job's snapshot taken back (a candidate) that the PVC was handed over to it (see
 * `candidateVolumeLoss`). Under ZFS a snapshot lives inside its volume: destroying the volume
 * destroys the snapshot, while its VolumeSnapshot still says `readyToUse: true` and every clone of
 * it stays Pending. (A snapshot of no PVC, such as a pre-provisioned one, is not checked.)
 */
export async function requireSourceVolume(kube: KubeClient, namespace: string, snapshot: VolumeSnapshot): Promise<void> {
  const source = snapshot.spec?.source?.persistentVolumeClaimName;
  if (source === undefined) return;
  const pvc = await kube.find<V1PersistentVolumeClaim>({ type: R.persistentVolumeClaims, namespace, name: source });
  const loss = !pvc ? 'gone' : pvc.metadata?.deletionTimestamp ? 'being deleted' : candidateVolumeLoss(snapshot, pvc);
  if (loss === undefined) return;
  throw new ZfsCloneError(
    'PROMOTE_FAILED',
    `VolumeSnapshot "${snapshot.metadata?.name}" in namespace "${namespace}" has lost its volume: ${describeVolumeLoss(source, loss)}, and under ZFS a snapshot goes with its volume (clones of it would stay Pending); a cache head never moves to it.`,
    { hint: "Choose another snapshot; `zfs-clone gc` deletes a job's snapshot that lost its volume (a kept one once its keep time has run out)." },
  );
}

/**
 * Moves a cache head to `snapshot`, fast-forward only: a compare-and-swap on the head ConfigMap
 * (its resourceVersion) that succeeds only while the head still is `expected`. Of all jobs that
 * cloned the same generation exactly one wins; the others get `lost`. The winner's snapshot is
 * then labelled as the new generation (the head ConfigMap stays the source of truth).
 */
export async function promote(kube: KubeClient, options: PromoteOptions): Promise<PromoteResult> {
  const { namespace, cache, snapshot, expected } = options;
  for (;;) {
    const { head, resourceVersion } = await readHead(kube, namespace, cache);
    const done = promotedBefore(head, snapshot, expected);
    if (done !== undefined) {
      // An earlier attempt made this snapshot the next generation (a cleanup_job killed after the
      // swap and run again, or a swap whose answer was lost and whose retry got 409): it won.
      await requireReadySnapshot(kube, namespace, snapshot, options.made);
      await markGeneration(kube, namespace, snapshot, done);
      return { outcome: 'promoted', head };
    }
    if (head.generation !== expected.generation || head.snapshot !== expected.snapshot) return { outcome: 'lost', head };
    const refusal = options.admit?.(head);
    if (refusal !== undefined) return { outcome: 'refused', head, reason: refusal };
    // Right before the swap: claimed against gc, and still there, ready, not going away, and ours.
    await claimForHead(kube, namespace, snapshot, options.now?.() ?? new Date(), options.made);
    const next = advanceHead(head, snapshot, { at: (options.now?.() ?? new Date()).toISOString(), reason: 'promote', by: options.by });
    let swapped: V1ConfigMap;
    try {
      swapped = await kube.replace(
        { type: R.configMaps, namespace, name: headConfigMapName(cache) },
        buildHeadConfigMap({ namespace, head: next, resourceVersion }),
      );
    } catch (error) {
      if (isConflict(error)) continue;
      throw error;
    }
    await settleHead(kube, namespace, next, swapped);
    return { outcome: 'promoted', head: next };
  }
}

/**
 * The generation `snapshot` became when it was promoted over `expected`, per the head's history
 * (newest first), or undefined when it never was.
 */
function promotedBefore(head: CacheHead, snapshot: string, expected: PromoteOptions['expected']): number | undefined {
  const at = head.history.findIndex((e) => e.snapshot === snapshot && e.reason === 'promote');
  const parent = at < 0 ? undefined : head.history[at + 1];
  const entry = head.history[at];
  if (!entry || parent?.generation !== expected.generation || parent.snapshot !== expected.snapshot) return undefined;
  return entry.generation;
}

/**
 * Labels a snapshot as generation `generation` and drops its expiry; answers the snapshot as
 * patched, or undefined when it is gone.
 */
export async function markGeneration(kube: KubeClient, namespace: string, snapshot: string, generation: number): Promise<VolumeSnapshot | undefined> {
  try {
    return await kube.patch<VolumeSnapshot>(
      { type: R.volumeSnapshots, namespace, name: snapshot },
      { metadata: { labels: { [ROLE_LABEL]: 'generation', [GENERATION]: String(generation) }, annotations: { [EXPIRES_AT]: null } } },
      'merge',
    );
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * After the head moved to `head.snapshot` (the ConfigMap `swapped` the swap answered): labels the
 * snapshot as the new generation, and if it turns out deleted, puts the head back on the snapshot
 * before it (a new generation) and throws.
 *
 * A gc that read the snapshot before this label deletes it only in the version it read (a
 * precondition), so once labelled it is safe; a gc that read the head before the swap and deleted
 * the snapshot before the label is seen here: the label finds it being deleted, or gone.
 */
export async function settleHead(kube: KubeClient, namespace: string, head: CacheHead, swapped: V1ConfigMap): Promise<void> {
  const labelled = await markGeneration(kube, namespace, head.snapshot, head.generation);
  if (labelled && !labelled.metadata?.deletionTimestamp) return;
  const before = head.history[1];
  const why = `VolumeSnapshot "${head.snapshot}" in namespace "${namespace}" was deleted (by a gc that read cache "${head.cache}" before its head moved) just as the head moved to it`;
  if (!before) throw new ZfsCloneError('PROMOTE_FAILED', `${why}.`);
  const back = advanceHead(head, before.snapshot, {
    at: new Date().toISOString(),
    reason: 'rollback',
    by: `back to generation ${before.generation}: ${head.snapshot} was deleted`,
  });
  try {
    await kube.replace(
      { type: R.configMaps, namespace, name: headConfigMapName(head.cache) },
      buildHeadConfigMap({ namespace, head: back, resourceVersion: swapped.metadata?.resourceVersion ?? '' }),
    );
  } catch (error) {
    if (!isConflict(error)) throw error;
    throw new ZfsCloneError('PROMOTE_FAILED', `${why}, and the head moved again before it could be put back.`, {
      hint: `Check it with \`zfs-clone status ${head.cache}\` and roll it back with \`zfs-clone rollback ${head.cache}\`.`,
    });
  }
  throw new ZfsCloneError(
    'PROMOTE_FAILED',
    `${why}; the head is back at the snapshot of generation ${before.generation} ("${before.snapshot}") as generation ${back.generation}.`,
    { hint: 'Run it again.' },
  );
}
