import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { MANAGED_BY, MANAGED_BY_LABEL, ROLE_LABEL } from '@zfs-runner-hooks/vocabulary';
import type { VolumeSnapshot } from '../kube-types.js';

/**
 * Why a job's snapshot taken back cannot outlive its volume: the source PVC is `gone`, is `being
 * deleted`, or was `not handed over` to the snapshot (it is not its owner, so the PVC goes with
 * its job pod).
 */
export type VolumeLoss = 'gone' | 'being deleted' | 'not handed over';

/**
 * Whether a candidate (`zrh.dev/role=candidate`, a job's snapshot taken back) has lost its volume.
 * `snapshotBack` makes the snapshot its clone PVC's only owner right after creating it; a
 * cleanup_job killed in between leaves a ready snapshot whose PVC is still owned by the job pod
 * and is deleted with it. Under ZFS-LocalPV deleting a volume destroys its snapshots (`zfs destroy
 * -r`) while their VolumeSnapshots still say `readyToUse: true`: such a snapshot can never be
 * restored. `pvc` is the snapshot's source PVC as read (undefined: it does not exist). Any other
 * snapshot (a seed's, a generation, an unmanaged one) is not judged: undefined.
 */
export function candidateVolumeLoss(snapshot: VolumeSnapshot, pvc: V1PersistentVolumeClaim | undefined): VolumeLoss | undefined {
  const labels = snapshot.metadata?.labels;
  if (labels?.[MANAGED_BY_LABEL] !== MANAGED_BY || labels[ROLE_LABEL] !== 'candidate') return undefined;
  const source = snapshot.spec?.source?.persistentVolumeClaimName;
  if (source === undefined) return undefined;
  if (!pvc) return 'gone';
  if (pvc.metadata?.deletionTimestamp) return 'being deleted';
  const name = snapshot.metadata?.name;
  const uid = snapshot.metadata?.uid;
  const owned = (pvc.metadata?.ownerReferences ?? []).some(
    (o) => o.kind === 'VolumeSnapshot' && o.name === name && (uid === undefined || o.uid === undefined || o.uid === uid),
  );
  return owned ? undefined : 'not handed over';
}

/** How a lost volume reads in a message: `PVC "c" is gone`. */
export function describeVolumeLoss(pvc: string, loss: VolumeLoss): string {
  return loss === 'not handed over'
    ? `PVC "${pvc}" was never handed over to it (its cleanup_job stopped between taking the snapshot and making it the PVC's owner), so it goes with its job pod`
    : `PVC "${pvc}" ${loss === 'gone' ? 'is gone' : 'is being deleted'}`;
}
