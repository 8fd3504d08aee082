import { describe, expect, it } from 'vitest';
import { buildClonePvc } from './clone-pvc.js';
import { podOwner } from '@zfs-runner-hooks/vocabulary';
import { buildSnapshot } from './snapshot.js';

describe('buildClonePvc', () => {
  const spec = {
    name: 'runner-abc-zfs-1a2b3c4d',
    namespace: 'ci',
    snapshot: 'gcc12-g7',
    restoreSize: '200Gi',
    storageClass: 'openebs-zfspv',
    runnerPod: 'runner-abc',
    cache: 'gcc12',
    parentGeneration: 7,
    owner: podOwner('runner-abc', 'uid-1'),
  } as const;

  it('requests exactly the snapshot restore size from the snapshot, read-write-once', () => {
    const pvc = buildClonePvc(spec);
    expect(pvc.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'openebs-zfspv',
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'gcc12-g7' },
      resources: { requests: { storage: '200Gi' } },
    });
  });

  it('labels runner, cache and parent and is owned by the given pod', () => {
    const pvc = buildClonePvc(spec);
    expect(pvc.metadata?.labels).toEqual({
      'app.kubernetes.io/managed-by': 'zfs-runner-hooks',
      'zrh.dev/role': 'clone',
      'runner-pod': 'runner-abc',
      'zrh.dev/cache': 'gcc12',
      'zrh.dev/parent-generation': '7',
    });
    expect(pvc.metadata?.annotations).toEqual({ 'zrh.dev/parent-snapshot': 'gcc12-g7' });
    expect(pvc.metadata?.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: 'runner-abc', uid: 'uid-1' }]);
  });

  it('leaves the storage class to the cluster default when none is given and does not touch its input', () => {
    const input = Object.freeze({ ...spec, storageClass: undefined, cache: undefined, parentGeneration: undefined });
    const pvc = buildClonePvc(input);
    expect(pvc.spec).not.toHaveProperty('storageClassName');
    expect(pvc.metadata?.labels).not.toHaveProperty('zrh.dev/cache');
  });
});

describe('buildSnapshot', () => {
  it('snapshots the PVC with the class and records parent and expiry', () => {
    const snap = buildSnapshot({
      name: 'gcc12-runner-abc-9f8e7d6c',
      namespace: 'ci',
      pvc: 'runner-abc-zfs-1a2b3c4d',
      snapshotClass: 'zfspv-snapclass',
      role: 'candidate',
      cache: 'gcc12',
      parentGeneration: 7,
      parentSnapshot: 'gcc12-g7',
      runnerPod: 'runner-abc',
      expiresAt: new Date('2025-01-02T00:00:00Z'),
    });
    expect(snap).toEqual({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: {
        name: 'gcc12-runner-abc-9f8e7d6c',
        namespace: 'ci',
        labels: {
          'app.kubernetes.io/managed-by': 'zfs-runner-hooks',
          'zrh.dev/role': 'candidate',
          'zrh.dev/cache': 'gcc12',
          'zrh.dev/parent-generation': '7',
          'runner-pod': 'runner-abc',
        },
        annotations: { 'zrh.dev/parent-snapshot': 'gcc12-g7', 'zrh.dev/expires-at': '2025-01-02T00:00:00.000Z' },
      },
      spec: { source: { persistentVolumeClaimName: 'runner-abc-zfs-1a2b3c4d' }, volumeSnapshotClassName: 'zfspv-snapclass' },
    });
  });
});
