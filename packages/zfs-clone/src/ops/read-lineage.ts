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
 */
export async function readLineage(
  kube: KubeClient,
  namespace: string,
): Promise<{ graph: LineageGraph; problems: string[]; objects: LineageObjects }> {
  const [pvcs, snapshots, heads] = await Promise.all([
    kube.list<V1PersistentVolumeClaim>({ type: R.persistentVolumeClaims, namespace }),
    kube.list<VolumeSnapshot>({ type: R.volumeSnapshots, namespace }),
    kube.list<V1ConfigMap>({ type: R.configMaps, namespace }, { labelSelector: `${MANAGED_SELECTOR},${ROLE_LABEL}=head` }),
  ]);
  const objects = { pvcs: pvcs.items, snapshots: snapshots.items, heads: heads.items };
  return { ...graphFromObjects(objects), objects };
}
