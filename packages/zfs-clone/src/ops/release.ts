import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { R, type KubeClient } from '@zfs-runner-hooks/kube';
import { EXPIRES_AT, KEPT, MANAGED_SELECTOR } from '../labels.js';

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
