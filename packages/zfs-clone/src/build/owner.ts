import { type Owner } from '@zfs-runner-hooks/vocabulary';

/** A VolumeSnapshot as an owner (its PVC then lives exactly as long as the snapshot). */
export function snapshotOwner(name: string, uid: string): Owner {
  return { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', name, uid };
}
