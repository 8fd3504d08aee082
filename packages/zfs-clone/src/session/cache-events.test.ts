import { describe, expect, it } from 'vitest';
import type { FakeKube } from '../ops/fake-kube.fixtures.js';
import { NS, seededCluster } from '../ops/ops.fixtures.js';
import { job } from './session.fixtures.js';

const PROMOTING = { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_PROMOTE: 'true' };

interface EventLike {
  reason?: string;
  message?: string;
  type?: string;
  involvedObject?: { kind?: string; name?: string; uid?: string };
  metadata?: { labels?: Record<string, string> };
}

/** The events recorded so far, as `reason kind/name: message`. */
const events = (fake: FakeKube) =>
  (fake.all('events') as EventLike[]).map((e) => `${e.reason} ${e.involvedObject?.kind}/${e.involvedObject?.name}: ${e.message}`);
const uidOf = (fake: FakeKube, plural: string, name: string) => fake.store.get(`${plural}/${NS}/${name}`)?.metadata?.uid;

describe('cache actions recorded as Kubernetes Events', () => {
  it('a promoting job: clone created from generation 1, snapshot taken, cache promoted to generation 2', async () => {
    const fake = seededCluster();
    const { s, state } = await job(fake, PROMOTING, 'r1');
    expect(events(fake)).toEqual([`CloneCreated PersistentVolumeClaim/${state.pvc}: Cloned from cache gcc12 generation 1 (gcc12-g1) for runner pod r1`]);
    const cloneUid = uidOf(fake, 'persistentvolumeclaims', state.pvc);
    const report = await s.cleanup(state, { succeeded: true });
    const snapshot = report.snapshot ?? '';
    expect(events(fake).slice(1)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^SnapshotTaken VolumeSnapshot/${snapshot}: Snapshot of clone PVC ${state.pvc} \\(cloned from generation 1 of cache gcc12\\) is ready after \\d+ ms$`,
        ),
      ),
      `Promoted ConfigMap/zfs-cache-gcc12: Cache gcc12 promoted to generation 2: VolumeSnapshot ${snapshot}, taken from clone PVC ${state.pvc} of generation 1, by acme/app@refs/heads/main (push) via r1`,
    ]);
    const all = fake.all('events') as EventLike[];
    expect(all.map((e) => e.involvedObject?.uid)).toEqual([cloneUid, uidOf(fake, 'volumesnapshots', snapshot), uidOf(fake, 'configmaps', 'zfs-cache-gcc12')]);
    expect(all.every((e) => e.type === 'Normal' && e.metadata?.labels?.['zrh.dev/cache'] === 'gcc12')).toBe(true);
  });

  it('the job that lost the race, and a failed job whose clone is kept', async () => {
    const fake = seededCluster();
    const a = await job(fake, PROMOTING, 'ra');
    const b = await job(fake, { ...PROMOTING, ZFS_CLONE_ON_CONFLICT: 'keep' }, 'rb');
    const failed = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_KEEP_ON_FAILURE: '2h' }, 'rc');
    await a.s.cleanup(a.state, { succeeded: true });
    const lost = await b.s.cleanup(b.state, { succeeded: true });
    expect(events(fake)).toContainEqual(
      `LostRace VolumeSnapshot/${lost.snapshot}: Not promoted: cache gcc12 moved to generation 2 since this job cloned generation 1; snapshot kept until ${lost.kept?.until}`,
    );
    const kept = await failed.s.cleanup(failed.state, { succeeded: false });
    expect(events(fake)).toContainEqual(`Kept PersistentVolumeClaim/${failed.state.pvc}: Failed job's clone kept for inspection until ${kept.kept?.until}`);
  });

  it('gc after a promotion: what it deleted, on the cache head', async () => {
    const fake = seededCluster();
    fake.put('volumesnapshots', {
      metadata: {
        name: 'old',
        namespace: NS,
        creationTimestamp: '2024-01-01T00:00:00Z',
        annotations: { 'zrh.dev/expires-at': '2024-01-02T00:00:00Z' },
        labels: { 'app.kubernetes.io/managed-by': 'zfs-runner-hooks', 'zrh.dev/role': 'candidate', 'zrh.dev/cache': 'gcc12' },
      },
      spec: { source: { persistentVolumeClaimName: 'golden' } },
      status: { readyToUse: true },
    });
    const { s, state } = await job(fake, PROMOTING, 'r1');
    await s.cleanup(state, { succeeded: true });
    expect(events(fake).at(-1)).toBe('GarbageCollected ConfigMap/zfs-cache-gcc12: gc deleted 1 object(s) of cache gcc12: snapshot/old');
  });

  it('a Role without events: create changes nothing for the job', async () => {
    const fake = seededCluster();
    fake.missingResources.add('events');
    const { s, state, lines } = await job(fake, PROMOTING, 'r1');
    expect((await s.cleanup(state, { succeeded: true })).promotion).toEqual({ outcome: 'promoted', generation: 2 });
    expect(lines.filter((l) => l.startsWith('warning:'))).toEqual([]);
  });
});
