import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { R, type KubeClient } from '@zfs-runner-hooks/kube';
import type { VolumeSnapshot } from '../kube-types.js';
import { MANAGED_SELECTOR, ROLE_LABEL } from '@zfs-runner-hooks/vocabulary';
import { CACHE, EXPIRES_AT, KEPT } from '../labels.js';

/** Deletes a job's clone PVC now (idempotent). */
export async function releaseClone(kube: KubeClient, namespace: string, pvc: string): Promise<boolean> {
  return kube.delete({ type: R.persistentVolumeClaims, namespace, name: pvc });
}

/** How many failed-job clones are kept in the namespace right now. */
export async function countKeptClones(kube: KubeClient, namespace: string): Promise<number> {
  const list = await kube.list<V1PersistentVolumeClaim>({ type: R.persistentVolumeClaims, namespace }, { labelSelector: `${MANAGED_SELECTOR},${KEPT}=true` });
  return list.items.length;
}

/**
 * Keeps a failed job's clone for inspection: no owner any more (so deleting the job pod leaves it),
 * labelled `zrh.dev/kept=true` with an expiry after which gc deletes it.
 */
export async function keepClone(kube: KubeClient, namespace: string, pvc: string, expiresAt: Date): Promise<void> {
  await kube.patch(
    { type: R.persistentVolumeClaims, namespace, name: pvc },
    { metadata: { ownerReferences: null, labels: { [KEPT]: 'true' }, annotations: { [EXPIRES_AT]: expiresAt.toISOString() } } },
    'merge',
  );
}

/**
 * How many snapshots taken back, not promoted and kept (`zrh.dev/role=candidate`,
 * `zrh.dev/kept=true`) a cache has right now, not counting those being deleted nor `except`;
 * `cache` undefined counts those of `snapshot:` sources. Snapshots still in flight (another job's
 * cleanup has not decided yet whether they are promoted) do not count.
 */
export async function countKeptSnapshots(kube: KubeClient, namespace: string, cache: string | undefined, except?: string): Promise<number> {
  const list = await kube.list<VolumeSnapshot>(
    { type: R.volumeSnapshots, namespace },
    { labelSelector: `${MANAGED_SELECTOR},${ROLE_LABEL}=candidate,${KEPT}=true${cache === undefined ? '' : `,${CACHE}=${cache}`}` },
  );
  return list.items.filter(
    (s) => !s.metadata?.deletionTimestamp && s.metadata?.name !== except && (cache !== undefined || s.metadata?.labels?.[CACHE] === undefined),
  ).length;
}

/** Keeps a snapshot that did not become a generation: labelled kept, and deleted by gc after `expiresAt`. */
export async function keepSnapshot(kube: KubeClient, namespace: string, snapshot: string, expiresAt: Date): Promise<void> {
  await kube.patch(
    { type: R.volumeSnapshots, namespace, name: snapshot },
    { metadata: { labels: { [KEPT]: 'true' }, annotations: { [EXPIRES_AT]: expiresAt.toISOString() } } },
    'merge',
  );
}
