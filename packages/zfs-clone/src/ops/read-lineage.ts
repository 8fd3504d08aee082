import type { V1ConfigMap, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { R, type KubeClient } from '@zfs-runner-hooks/kube';
import type { VolumeSnapshot } from '../kube-types.js';
import { MANAGED_SELECTOR, ROLE_LABEL } from '@zfs-runner-hooks/vocabulary';
import { graphFromObjects, type LineageObjects } from '../lineage/from-objects.js';
import type { LineageGraph } from '../lineage/graph.js';

/**
 * Lists a namespace's PVCs, VolumeSnapshots and cache heads (three requests) and builds the
 * lineage graph. All PVCs and snapshots are read because unmanaged ones (a seed PVC) matter for
 * the dependencies.
 *
 * The lists are read one after the other, in the order in which a job writes: a job creates its
 * snapshot (with an expiry lease) before it hands its clone PVC to it, and moves the head before
 * it drops the lease. Reading PVCs, then snapshots, then heads, a clone already handed over has its
 * snapshot in the list, and a snapshot whose lease is gone is in the head's history; read at once,
 * the lists can miss both, and gc would delete a clone being snapshotted or a head just promoted.
 */
export async function readLineage(kube: KubeClient, namespace: string): Promise<{ graph: LineageGraph; problems: string[]; objects: LineageObjects }> {
  const pvcs = await kube.list<V1PersistentVolumeClaim>({ type: R.persistentVolumeClaims, namespace });
  const snapshots = await kube.list<VolumeSnapshot>({ type: R.volumeSnapshots, namespace });
  const heads = await kube.list<V1ConfigMap>({ type: R.configMaps, namespace }, { labelSelector: `${MANAGED_SELECTOR},${ROLE_LABEL}=head` });
  const objects = { pvcs: pvcs.items, snapshots: snapshots.items, heads: heads.items };
  return { ...graphFromObjects(objects), objects };
}
