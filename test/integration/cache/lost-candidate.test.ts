/**
 * A cleanup_job killed between taking its snapshot of the job's clone and handing the clone over
 * to that snapshot (`snapshotBack` creates the VolumeSnapshot, then makes it the PVC's owner), on
 * the zfs-like storage. The clone PVC stays the job pod's and goes with it; as on ZFS-LocalPV 2.6,
 * `zfs destroy -r` takes the snapshot with the volume while the VolumeSnapshot still says
 * readyToUse. Nothing may take that snapshot for a restorable one, and gc deletes it once the
 * hand-over grace is over (its lease still running), leaving nothing of it in the driver.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { R } from '@zfs-runner-hooks/kube';
import { buildSnapshot, createClone, gc, HANDOVER_GRACE_SECONDS, resolveSource, type VolumeSnapshot } from '@zfs-runner-hooks/zfs-clone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiStatus, cluster, waitFor, ZFS_LIKE_CLASS } from '../../cluster/harness.js';
import { IMAGES, realNodePod } from '../node/real-node.js';
import { createCacheWorld, SNAPSHOTS, type CacheWorld } from './cache-fixtures.js';
import { dataBeyondPolicy } from './lineage-checks.js';

const CACHE = 'conan';
const JOB_POD = 'job-lost';
const CLONE = 'job-lost-zfs';
const CANDIDATE = 'job-lost-snap';
const CONTENTS = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshotcontents' } as const;

interface DriverState {
  readonly datasets: Record<string, unknown>;
  readonly snapshots: Record<string, unknown>;
  readonly pendingDestroys: readonly string[];
}

/** The zfs-like driver's state (state.json), as the tests inspect it. */
function driverState(): DriverState {
  return JSON.parse(readFileSync(join(cluster().dir, 'csi-zfslike', 'state.json'), 'utf8')) as DriverState;
}

describe('a job snapshot left without its clone by a cleanup_job killed before the hand-over', () => {
  let world: CacheWorld;

  beforeAll(async () => {
    world = await createCacheWorld('cache-lost', CACHE);
  });
  afterAll(async () => {
    await world?.dispose();
  });

  const readCandidate = async () =>
    (await world.custom.getNamespacedCustomObject({ ...SNAPSHOTS, namespace: world.ns.name, name: CANDIDATE }).catch((error: unknown) => {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    })) as VolumeSnapshot | undefined;

  it('is never restorable, and gc deletes it after the hand-over grace without leaving anything in the driver', async () => {
    const namespace = world.ns.name;
    const head = await world.head(CACHE);
    const policy = { keepGenerations: 5, graceSeconds: 0, caches: [CACHE] };

    // prepare_job: the job pod and its clone of the head, owned by the pod.
    const pod = await world.core.createNamespacedPod({
      namespace,
      body: realNodePod(JOB_POD, { containers: [{ name: 'job', image: IMAGES.busybox, command: ['sleep', '3600'] }] }),
    });
    const source = await resolveSource(world.kube, namespace, { kind: 'cache', name: CACHE });
    await createClone(world.kube, {
      name: CLONE,
      namespace,
      snapshot: source.snapshot,
      restoreSize: source.restoreSize,
      storageClass: ZFS_LIKE_CLASS,
      runnerPod: 'runner-lost',
      cache: CACHE,
      parentGeneration: head.generation,
      owner: { apiVersion: 'v1', kind: 'Pod', name: JOB_POD, uid: pod.metadata?.uid ?? '' },
    });
    const bound = await waitFor(
      `clone PVC ${CLONE} Bound`,
      () => world.core.readNamespacedPersistentVolumeClaim({ name: CLONE, namespace }),
      (c) => c.status?.phase === 'Bound',
    );
    const volume = bound.spec?.volumeName ?? '';

    // cleanup_job: the snapshot of the clone, with its lease, and then the kill: no hand-over.
    await world.kube.create(
      { type: R.volumeSnapshots, namespace },
      buildSnapshot({
        name: CANDIDATE,
        namespace,
        pvc: CLONE,
        role: 'candidate',
        cache: CACHE,
        parentSnapshot: head.snapshot,
        parentGeneration: head.generation,
        runnerPod: 'runner-lost',
        expiresAt: new Date(Date.now() + 15 * 60_000),
      }),
    );
    const ready = await waitFor(`VolumeSnapshot ${CANDIDATE} ready`, readCandidate, (s) => s?.status?.readyToUse === true);
    const content = (await world.custom.getClusterCustomObject({ ...CONTENTS, name: ready?.status?.boundVolumeSnapshotContentName ?? '' })) as {
      status?: { snapshotHandle?: string };
    };
    const handle = content.status?.snapshotHandle ?? '';
    expect(handle).toMatch(new RegExp(`^${volume}@`));
    expect(driverState().snapshots[handle], `the driver's snapshot ${handle}`).toBeDefined();
    const created = Date.parse(String(ready?.metadata?.creationTimestamp));

    // Not handed over: no promotion, and gc leaves it alone while a cleanup_job could still be handing over.
    const promoted = await world.cli('promote', CACHE, CANDIDATE);
    expect(promoted.code, promoted.out).not.toBe(0);
    expect(promoted.err).toMatch(new RegExp(`has lost its volume: PVC "${CLONE}" was never handed over to it`));
    const early = await gc(world.kube, { namespace, policy, now: Date.now() });
    expect(early.deleted).toEqual([]);
    expect(early.plan.keep).toContainEqual(expect.objectContaining({ name: CANDIDATE, reason: 'recently created (its volume may still be handed over)' }));

    // The job pod goes, its clone with it, and (zfs destroy -r) the snapshot's data; the VolumeSnapshot says ready.
    await world.core.deleteNamespacedPod({ name: JOB_POD, namespace, gracePeriodSeconds: 0 });
    await waitFor(
      `clone PVC ${CLONE} and its dataset ${volume} gone with the job pod`,
      async () => ({
        pvc: await world.core.readNamespacedPersistentVolumeClaim({ name: CLONE, namespace }).catch((e: unknown) => {
          if (apiStatus(e) === 404) return undefined;
          throw e;
        }),
        state: driverState(),
      }),
      ({ pvc, state }) => pvc === undefined && state.datasets[volume] === undefined,
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(driverState().snapshots[handle], 'the snapshot went with its dataset').toBeUndefined();
    expect((await readCandidate())?.status?.readyToUse).toBe(true);
    await expect(resolveSource(world.kube, namespace, { kind: 'snapshot', name: CANDIDATE })).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE' });

    // gc once the hand-over grace is over, its lease still running.
    const later = await gc(world.kube, { namespace, policy, now: created + (HANDOVER_GRACE_SECONDS + 10) * 1000 });
    expect(later.failed).toEqual([]);
    expect(later.deleted).toEqual([`snapshot/${CANDIDATE}`]);
    expect(later.plan.delete[0]?.reason).toBe(`it has lost its volume: PVC "${CLONE}" is gone; it can never be restored`);
    await waitFor(`VolumeSnapshot ${CANDIDATE} gone`, readCandidate, (s) => s === undefined);
    const known = new Set<string>([volume]);
    const left = await waitFor(
      'the driver to hold nothing of the clone or its snapshot',
      () => dataBeyondPolicy(world, [head.snapshot], known),
      (d) => d.extra.length === 0 && d.data.pending.length === 0,
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const state = driverState();
    expect(state.datasets[volume]).toBeUndefined();
    expect(state.snapshots[handle]).toBeUndefined();
    expect(state.pendingDestroys.filter((p) => p.startsWith(`${volume}@`) || p === handle)).toEqual([]);
    expect(left.data.snapshots.filter((s) => s.startsWith(`${volume}@`))).toEqual([]);
    expect(await world.head(CACHE)).toEqual(head);
  });
});
