import { buildHeadConfigMap } from '../lineage/head.js';
import { bindPvcs, FakeKube, readySnapshots } from './fake-kube.fixtures.js';

export const NS = 'ci';

/**
 * A fake cluster with a seed PVC `golden` (StorageClass `zfs`), its ready snapshot `gcc12-g1`
 * (2Gi, class `zfs-snap`) and cache `gcc12` whose head is generation 1 → `gcc12-g1`.
 */
export function seededCluster(): FakeKube {
  const fake = new FakeKube();
  fake.put('persistentvolumeclaims', { metadata: { name: 'golden', namespace: NS }, spec: { storageClassName: 'zfs' }, status: { phase: 'Bound' } });
  fake.put('volumesnapshots', {
    metadata: { name: 'gcc12-g1', namespace: NS },
    spec: { source: { persistentVolumeClaimName: 'golden' }, volumeSnapshotClassName: 'zfs-snap' },
    status: { readyToUse: true, restoreSize: '2Gi' },
  });
  fake.put(
    'configmaps',
    buildHeadConfigMap({
      namespace: NS,
      head: {
        cache: 'gcc12',
        snapshot: 'gcc12-g1',
        generation: 1,
        history: [{ generation: 1, snapshot: 'gcc12-g1', at: '2025-01-01T00:00:00Z', reason: 'seed' }],
      },
    }) as never,
  );
  fake.reactors.push(bindPvcs(), readySnapshots('2Gi'));
  return fake;
}
