import { podOwner } from '@zfs-runner-hooks/vocabulary';
import { describe, expect, it, vi } from 'vitest';
import { buildClonePvc } from '../build/clone-pvc.js';
import { HANDOVER_GRACE_SECONDS } from '../lineage/plan-gc.js';
import type { FakeKube } from './fake-kube.fixtures.js';
import { gc } from './gc.js';
import { NS, seededCluster } from './ops.fixtures.js';
import { promote, readHead } from './promote.js';
import { readLineage } from './read-lineage.js';
import { resolveSource } from './resolve-source.js';
import { snapshotBack, snapshotBackName } from './snapshot-back.js';

const PVC = 'job-zfs-1';
const SNAPSHOT = snapshotBackName(PVC);
const LEASE_SECONDS = 900;

/** The seeded cache and a job's clone of its head, owned by the job pod, as prepare_job leaves it. */
function withJobClone(): FakeKube {
  const fake = seededCluster();
  fake.put(
    'persistentvolumeclaims',
    buildClonePvc({
      name: PVC,
      namespace: NS,
      snapshot: 'gcc12-g1',
      restoreSize: '2Gi',
      runnerPod: 'runner-1',
      owner: podOwner('job-1', 'pod-uid'),
      cache: 'gcc12',
    }) as never,
  );
  return fake;
}

/** Runs cleanup_job's snapshot back, with the hand-over to the snapshot done or the process killed right before it. */
async function snapshotBackOf(fake: FakeKube, handOver: boolean): Promise<number> {
  const options = { namespace: NS, pvc: PVC, cache: 'gcc12', expiresAt: new Date(Date.now() + LEASE_SECONDS * 1000), timeoutSeconds: 5 };
  if (handOver) await snapshotBack(fake, options);
  else {
    // Killed: the PVC's patch (the hand-over) never gets through.
    const patch = fake.patch.bind(fake);
    fake.patch = ((ref, ...rest) => (ref.type.plural === 'persistentvolumeclaims' ? new Promise(() => undefined) : patch(ref, ...rest))) as typeof fake.patch;
    void snapshotBack(fake, options);
    await vi.waitFor(() => expect(fake.store.get(`volumesnapshots/${NS}/${SNAPSHOT}`)?.['status']).toMatchObject({ readyToUse: true }));
    fake.patch = patch;
  }
  return Date.parse(String(fake.store.get(`volumesnapshots/${NS}/${SNAPSHOT}`)?.metadata?.['creationTimestamp']));
}

/** The job pod is deleted, and the clone PVC it owns with it (and under ZFS the snapshot's data). */
function jobPodGone(fake: FakeKube): void {
  fake.remove('persistentvolumeclaims', NS, PVC);
}

const policy = (graceSeconds: number) => ({ keepGenerations: 5, graceSeconds, caches: ['gcc12'] });

describe('a job snapshot whose cleanup_job was killed before handing the clone over', () => {
  it('is deleted by gc once older than the hand-over grace, although its lease runs, when its clone went with the job pod', async () => {
    const fake = withJobClone();
    const created = await snapshotBackOf(fake, false);
    jobPodGone(fake);

    const early = await gc(fake, { namespace: NS, policy: policy(0), now: created + (HANDOVER_GRACE_SECONDS - 10) * 1000 });
    expect(early.deleted).toEqual([]);
    expect(early.plan.keep).toContainEqual(expect.objectContaining({ name: SNAPSHOT, reason: 'recently created (its volume may still be handed over)' }));

    const later = await gc(fake, { namespace: NS, policy: policy(0), now: created + (HANDOVER_GRACE_SECONDS + 10) * 1000 });
    expect(later.deleted).toEqual([`snapshot/${SNAPSHOT}`]);
    expect(later.plan.delete[0]?.reason).toBe(`it has lost its volume: PVC "${PVC}" is gone; it can never be restored`);
    expect(fake.store.has(`volumesnapshots/${NS}/${SNAPSHOT}`)).toBe(false);
    expect((await readHead(fake, NS, 'gcc12')).head).toMatchObject({ generation: 1, snapshot: 'gcc12-g1' });
  });

  it('waits for the longer of the hand-over grace and --grace', async () => {
    const fake = withJobClone();
    const created = await snapshotBackOf(fake, false);
    jobPodGone(fake);
    expect((await gc(fake, { namespace: NS, policy: policy(600), now: created + 590_000 })).deleted).toEqual([]);
    expect((await gc(fake, { namespace: NS, policy: policy(600), now: created + 610_000 })).deleted).toEqual([`snapshot/${SNAPSHOT}`]);
  });

  it('is deleted while the job pod still owns the clone, and the clone stays with its job', async () => {
    const fake = withJobClone();
    const created = await snapshotBackOf(fake, false);
    const result = await gc(fake, { namespace: NS, policy: policy(0), now: created + (HANDOVER_GRACE_SECONDS + 10) * 1000 });
    expect(result.deleted).toEqual([`snapshot/${SNAPSHOT}`]);
    expect(result.plan.delete[0]?.reason).toMatch(
      new RegExp(`^it has lost its volume: PVC "${PVC}" was never handed over to it .*so it goes with its job pod`),
    );
    expect(fake.store.has(`persistentvolumeclaims/${NS}/${PVC}`)).toBe(true);
  });

  it('is left alone when the hand-over happened: it lives until its lease ends (the baseline)', async () => {
    const fake = withJobClone();
    const created = await snapshotBackOf(fake, true);
    const result = await gc(fake, { namespace: NS, policy: policy(0), now: created + (HANDOVER_GRACE_SECONDS + 10) * 1000 });
    expect(result.deleted).toEqual([]);
    expect(result.plan.keep).toContainEqual(expect.objectContaining({ name: SNAPSHOT, reason: expect.stringMatching(/^kept until /) }));
    expect((await gc(fake, { namespace: NS, policy: policy(0), now: created + (LEASE_SECONDS + 10) * 1000 })).deleted).toEqual([
      `snapshot/${SNAPSHOT}`,
      `volume/${PVC}`,
    ]);
  });

  it('is never promoted, while its clone still exists or once it is gone', async () => {
    const fake = withJobClone();
    await snapshotBackOf(fake, false);
    const expected = { generation: 1, snapshot: 'gcc12-g1' };
    await expect(promote(fake, { namespace: NS, cache: 'gcc12', snapshot: SNAPSHOT, expected })).rejects.toThrow(
      `VolumeSnapshot "${SNAPSHOT}" in namespace "ci" has lost its volume: PVC "${PVC}" was never handed over to it (its cleanup_job stopped between taking the snapshot and making it the PVC's owner), so it goes with its job pod, and under ZFS a snapshot goes with its volume (clones of it would stay Pending); a cache head never moves to it.`,
    );
    jobPodGone(fake);
    await expect(promote(fake, { namespace: NS, cache: 'gcc12', snapshot: SNAPSHOT, expected })).rejects.toThrow(`PVC "${PVC}" is gone`);
    expect((await readHead(fake, NS, 'gcc12')).head).toMatchObject(expected);
  });

  it('is refused as a job source, and the lineage marks it as not restorable', async () => {
    const fake = withJobClone();
    await snapshotBackOf(fake, false);
    jobPodGone(fake);
    await expect(resolveSource(fake, NS, { kind: 'snapshot', name: SNAPSHOT })).rejects.toMatchObject({
      code: 'SOURCE_UNAVAILABLE',
      message: expect.stringContaining(`is a job's snapshot that has lost its volume: PVC "${PVC}" is gone`),
    });
    const { graph } = await readLineage(fake, NS);
    expect(graph.snapshots.find((s) => s.name === SNAPSHOT)).toMatchObject({ candidate: true, kept: false, ready: true, lostVolume: 'gone' });
  });

  it('is a valid source and not marked once the hand-over happened (the baseline)', async () => {
    const fake = withJobClone();
    await snapshotBackOf(fake, true);
    expect(await resolveSource(fake, NS, { kind: 'snapshot', name: SNAPSHOT })).toMatchObject({ snapshot: SNAPSHOT, restoreSize: '2Gi' });
    const { graph } = await readLineage(fake, NS);
    expect(graph.snapshots.find((s) => s.name === SNAPSHOT)?.lostVolume).toBeUndefined();
  });
});
