import { KubeApiError } from '@zfs-runner-hooks/kube';
import { describe, expect, it } from 'vitest';
import { bindPvcs, FakeKube, readySnapshots } from './fake-kube.fixtures.js';
import { NS, seededCluster } from './ops.fixtures.js';
import { detectCapabilities } from './capabilities.js';
import { promote, readHead } from './promote.js';
import { resolveSource } from './resolve-source.js';
import { rollback } from './rollback.js';
import { seed } from './seed.js';
import { snapshotBack } from './snapshot-back.js';
import { createClone } from './create-clone.js';
import { podOwner } from '@zfs-runner-hooks/vocabulary';
import { waitForClone } from './wait-for-clone.js';

describe('resolveSource', () => {
  it('resolves a cache to its head snapshot, size and classes', async () => {
    expect(await resolveSource(seededCluster(), NS, { kind: 'cache', name: 'gcc12' })).toEqual({
      snapshot: 'gcc12-g1',
      restoreSize: '2Gi',
      snapshotClass: 'zfs-snap',
      storageClass: 'zfs',
      cache: { name: 'gcc12', generation: 1 },
    });
  });

  it('names the namespace and the fix for a missing cache or snapshot', async () => {
    const fake = seededCluster();
    await expect(resolveSource(fake, NS, { kind: 'cache', name: 'clang' })).rejects.toThrow(
      'Cache "clang" does not exist in namespace "ci" (no ConfigMap "zfs-cache-clang"). Check ZFS_CLONE_SOURCE',
    );
    await expect(resolveSource(fake, NS, { kind: 'snapshot', name: 'nope' })).rejects.toMatchObject({
      code: 'SOURCE_UNAVAILABLE',
      message: expect.stringContaining(
        'VolumeSnapshot "nope" does not exist in namespace "ci". A clone can only come from a snapshot in the job\'s own namespace',
      ),
    });
  });

  it('refuses a snapshot that is not ready and quotes the controller', async () => {
    const fake = seededCluster();
    fake.put('volumesnapshots', { metadata: { name: 'slow', namespace: NS }, status: { readyToUse: false, error: { message: 'pool busy' } } });
    await expect(resolveSource(fake, NS, { kind: 'snapshot', name: 'slow' })).rejects.toThrow(
      'VolumeSnapshot "slow" in namespace "ci" is not ready (readyToUse=false): the snapshot controller reports "pool busy".',
    );
  });
});

describe('waitForClone', () => {
  it('fails fast with the driver message on ProvisioningFailed', async () => {
    const fake = new FakeKube();
    fake.reactors.push(bindPvcs(() => 'clone volume size is not matching'));
    await createClone(fake, { name: 'job-zfs', namespace: NS, snapshot: 's', restoreSize: '1Gi', runnerPod: 'r', owner: podOwner('r', 'u') });
    const started = Date.now();
    await expect(waitForClone(fake, { namespace: NS, pvc: 'job-zfs', timeoutSeconds: 30 })).rejects.toThrow(
      'Clone PVC "job-zfs" in namespace "ci" cannot be provisioned: clone volume size is not matching.',
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('keeps waiting through a provisioning conflict the provisioner retries', async () => {
    const fake = new FakeKube();
    let attempts = 0;
    fake.reactors.push(
      bindPvcs(() =>
        attempts++ === 0
          ? 'Operation cannot be fulfilled on volumesnapshots.snapshot.storage.k8s.io "s": the object has been modified; please apply your changes to the latest version and try again'
          : undefined,
      ),
    );
    await createClone(fake, { name: 'busy', namespace: NS, snapshot: 's', restoreSize: '1Gi', runnerPod: 'r', owner: podOwner('r', 'u') });
    const waiting = waitForClone(fake, { namespace: NS, pvc: 'busy', timeoutSeconds: 5 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const pvc = fake.store.get(`persistentvolumeclaims/${NS}/busy`);
    fake.put('persistentvolumeclaims', { ...pvc, spec: { ...(pvc?.['spec'] as object), volumeName: 'pv-busy' }, status: { phase: 'Bound' } });
    await expect(waiting).resolves.toBe('bound');
  });

  it('times out naming the phase', async () => {
    const fake = new FakeKube();
    await createClone(fake, { name: 'stuck', namespace: NS, snapshot: 's', restoreSize: '1Gi', runnerPod: 'r', owner: podOwner('r', 'u') });
    await expect(waitForClone(fake, { namespace: NS, pvc: 'stuck', timeoutSeconds: 0.05 })).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringContaining('Clone PVC "stuck" in namespace "ci" is still Pending after 0.05s'),
    });
  });
});

describe('snapshotBack', () => {
  it('snapshots the clone, hands the PVC to the snapshot and waits until ready', async () => {
    const fake = seededCluster();
    fake.put('persistentvolumeclaims', {
      metadata: { name: 'job-zfs-1', namespace: NS, ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'job', uid: 'p' }] },
    });
    const result = await snapshotBack(fake, {
      namespace: NS,
      pvc: 'job-zfs-1',
      cache: 'gcc12',
      expiresAt: new Date('2030-01-01T00:00:00Z'),
      timeoutSeconds: 5,
    });
    expect(result.restoreSize).toBe('2Gi');
    const pvc = fake.store.get(`persistentvolumeclaims/${NS}/job-zfs-1`);
    expect(pvc?.metadata?.['ownerReferences']).toEqual([
      { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', name: result.snapshot, uid: result.uid },
    ]);
  });

  it('fails at once on a missing VolumeSnapshotClass and deletes the snapshot it created', async () => {
    const fake = new FakeKube();
    fake.reactors.push(readySnapshots('2Gi', 'Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io "nope" not found'));
    fake.put('persistentvolumeclaims', { metadata: { name: 'job-zfs-1', namespace: NS } });
    const started = Date.now();
    await expect(
      snapshotBack(fake, { namespace: NS, pvc: 'job-zfs-1', snapshotClass: 'nope', expiresAt: new Date('2030-01-01T00:00:00Z'), timeoutSeconds: 30 }),
    ).rejects.toMatchObject({
      code: 'SNAPSHOT_FAILED',
      message: expect.stringContaining('"nope" not found. Set ZFS_CLONE_SNAPSHOT_CLASS'),
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fake.all('volumesnapshots')).toEqual([]);
  });
});

describe('promote', () => {
  async function candidate(fake: FakeKube, name: string, ready = true) {
    fake.put('volumesnapshots', { metadata: { name, namespace: NS }, status: { readyToUse: ready, restoreSize: '2Gi' } });
  }

  it('lets exactly one of ten concurrent jobs from the same parent win', async () => {
    const fake = seededCluster();
    for (let i = 0; i < 10; i++) await candidate(fake, `cand-${i}`);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        promote(fake, { namespace: NS, cache: 'gcc12', snapshot: `cand-${i}`, expected: { generation: 1, snapshot: 'gcc12-g1' } }),
      ),
    );
    const winners = results.filter((r) => r.outcome === 'promoted');
    expect(winners).toHaveLength(1);
    const { head } = await readHead(fake, NS, 'gcc12');
    expect(head.generation).toBe(2);
    expect(head.snapshot).toBe(winners[0]?.head.snapshot);
    expect(head.history.map((e) => e.generation)).toEqual([2, 1]);
    const labels = fake.store.get(`volumesnapshots/${NS}/${head.snapshot}`)?.metadata?.labels;
    expect(labels).toMatchObject({ 'zrh.dev/role': 'generation', 'zrh.dev/generation': '2' });
  });

  it('answers promoted, and keeps the head, when its snapshot already is the generation it was promoted to', async () => {
    const fake = seededCluster();
    await candidate(fake, 'mine');
    const attempt = () => promote(fake, { namespace: NS, cache: 'gcc12', snapshot: 'mine', expected: { generation: 1, snapshot: 'gcc12-g1' } });
    expect((await attempt()).outcome).toBe('promoted');
    // Run again (a retried cleanup_job), also once another job has promoted on top of it.
    expect(await attempt()).toMatchObject({ outcome: 'promoted', head: { generation: 2, snapshot: 'mine' } });
    await candidate(fake, 'theirs');
    expect((await promote(fake, { namespace: NS, cache: 'gcc12', snapshot: 'theirs', expected: { generation: 2, snapshot: 'mine' } })).outcome).toBe(
      'promoted',
    );
    expect(await attempt()).toMatchObject({ outcome: 'promoted', head: { generation: 3, snapshot: 'theirs' } });
    expect((await readHead(fake, NS, 'gcc12')).head.history.map((e) => [e.generation, e.snapshot])).toEqual([
      [3, 'theirs'],
      [2, 'mine'],
      [1, 'gcc12-g1'],
    ]);
    // A snapshot of the same name promoted over another parent is not this job's win.
    expect((await promote(fake, { namespace: NS, cache: 'gcc12', snapshot: 'mine', expected: { generation: 2, snapshot: 'other' } })).outcome).toBe('lost');
  });

  it('never moves the head to a snapshot that is not ready', async () => {
    const fake = seededCluster();
    await candidate(fake, 'half', false);
    await expect(promote(fake, { namespace: NS, cache: 'gcc12', snapshot: 'half', expected: { generation: 1, snapshot: 'gcc12-g1' } })).rejects.toThrow(
      'a cache head only moves to ready snapshots',
    );
    expect((await readHead(fake, NS, 'gcc12')).head.generation).toBe(1);
  });

  it('re-checks right before the swap that the snapshot is still the one this job made', async () => {
    const fake = seededCluster();
    fake.put('volumesnapshots', {
      metadata: { name: 'mine', namespace: NS, uid: 'uid-theirs' },
      spec: { source: { persistentVolumeClaimName: 'job-clone' } },
      status: { readyToUse: true },
    });
    const attempt = (made: { uid: string; pvc: string }) =>
      promote(fake, { namespace: NS, cache: 'gcc12', snapshot: 'mine', expected: { generation: 1, snapshot: 'gcc12-g1' }, made });
    await expect(attempt({ uid: 'uid-mine', pvc: 'job-clone' })).rejects.toThrow(
      'VolumeSnapshot "mine" in namespace "ci" is no longer the snapshot of PVC "job-clone" this job took (uid uid-mine, found uid-theirs of PVC "job-clone"); the head was not moved.',
    );
    await expect(attempt({ uid: 'uid-theirs', pvc: 'other-clone' })).rejects.toThrow('is no longer the snapshot of PVC "other-clone"');
    expect((await readHead(fake, NS, 'gcc12')).head.generation).toBe(1);
  });

  it('never moves the head to a snapshot that is being deleted', async () => {
    const fake = seededCluster();
    fake.put('volumesnapshots', { metadata: { name: 'going', namespace: NS, deletionTimestamp: '2025-01-01T00:00:00Z' }, status: { readyToUse: true } });
    await expect(promote(fake, { namespace: NS, cache: 'gcc12', snapshot: 'going', expected: { generation: 1, snapshot: 'gcc12-g1' } })).rejects.toThrow(
      'VolumeSnapshot "going" in namespace "ci" is being deleted; a cache head never moves to it.',
    );
    expect((await readHead(fake, NS, 'gcc12')).head.generation).toBe(1);
  });

  it('asks admit about the head it is about to move, and keeps who may promote it', async () => {
    const fake = seededCluster();
    const cm = fake.store.get(`configmaps/${NS}/zfs-cache-gcc12`);
    fake.put('configmaps', { ...cm, metadata: { ...cm?.metadata, annotations: { 'zrh.dev/repositories': 'acme/app, acme/lib' } } });
    await candidate(fake, 'next');
    const seen: unknown[] = [];
    const refused = await promote(fake, {
      namespace: NS,
      cache: 'gcc12',
      snapshot: 'next',
      expected: { generation: 1, snapshot: 'gcc12-g1' },
      admit: (head) => (seen.push(head.repositories), 'not you'),
    });
    expect(refused).toMatchObject({ outcome: 'refused', reason: 'not you' });
    expect(seen).toEqual([['acme/app', 'acme/lib']]);
    const promoted = await promote(fake, {
      namespace: NS,
      cache: 'gcc12',
      snapshot: 'next',
      expected: { generation: 1, snapshot: 'gcc12-g1' },
      admit: () => undefined,
    });
    expect(promoted.outcome).toBe('promoted');
    expect(fake.store.get(`configmaps/${NS}/zfs-cache-gcc12`)?.metadata?.['annotations']).toEqual({ 'zrh.dev/repositories': 'acme/app,acme/lib' });
  });
});

describe('rollback and seed', () => {
  it('rolls back to the previous generation with a new generation number', async () => {
    const fake = seededCluster();
    fake.put('volumesnapshots', { metadata: { name: 'g2', namespace: NS }, status: { readyToUse: true, restoreSize: '2Gi' } });
    await promote(fake, { namespace: NS, cache: 'gcc12', snapshot: 'g2', expected: { generation: 1, snapshot: 'gcc12-g1' } });
    const { head } = await rollback(fake, { namespace: NS, cache: 'gcc12' });
    expect(head).toMatchObject({ snapshot: 'gcc12-g1', generation: 3 });
    await expect(rollback(fake, { namespace: NS, cache: 'gcc12', toGeneration: 9 })).rejects.toThrow(
      'Cache "gcc12" has no generation 9 in its history (known: 3, 2, 1).',
    );
  });

  it('seeds a cache from a PVC and refuses to seed it twice', async () => {
    const fake = seededCluster();
    const head = await seed(fake, { namespace: NS, cache: 'clang', fromPvc: 'golden', timeoutSeconds: 5 });
    expect(head.generation).toBe(1);
    expect(fake.store.get(`volumesnapshots/${NS}/${head.snapshot}`)?.metadata?.labels).toMatchObject({
      'zrh.dev/cache': 'clang',
      'zrh.dev/role': 'generation',
    });
    await expect(seed(fake, { namespace: NS, cache: 'clang', fromSnapshot: 'gcc12-g1', timeoutSeconds: 5 })).rejects.toThrow(
      'Cache "clang" already exists in namespace "ci".',
    );
  });
});

describe('detectCapabilities', () => {
  it('sees ZFSPromote only when the API serves it', async () => {
    const fake = new FakeKube();
    expect(await detectCapabilities(fake)).toEqual({ zfsPromote: true });
    fake.missingResources.add('zfspromotes');
    expect(await detectCapabilities(fake)).toEqual({ zfsPromote: false });
  });

  it('turns ZFSPromote off with a note when the client may not list it (a 403 does not say whether it exists)', async () => {
    const fake = new FakeKube();
    const forbidden = Object.create(fake, {
      list: {
        value: async () =>
          Promise.reject(
            new KubeApiError('FORBIDDEN', 'forbidden', {
              status: 403,
              reason: 'Forbidden',
              serverMessage: 'forbidden',
              verb: 'list',
              resource: 'zfspromotes',
              group: 'zfs.openebs.io',
              namespace: 'openebs',
              name: undefined,
              causes: [],
            }),
          ),
      },
    }) as FakeKube;
    expect(await detectCapabilities(forbidden)).toEqual({
      zfsPromote: false,
      note: 'not allowed to list zfspromotes.zfs.openebs.io in namespace "openebs", so gc requests no ZFSPromote (grant get, list and create on it there if the driver offers it)',
    });
  });
});
