import { describe, expect, it } from 'vitest';
import { dependencies, snapshotKey, volumeKey, type LineageGraph, type NodeKey, type SnapshotNode, type VolumeNode } from './graph.js';
import { chain, head, NOW, random, randomGraph, snap, T0, vol } from './graph.fixtures.js';
import { HANDOVER_GRACE_SECONDS, planGc, type GcPlan, type GcPolicy } from './plan-gc.js';

const policy: GcPolicy = { keepGenerations: 3, graceSeconds: 600 };
const names = (items: GcPlan['delete']) => items.map((i) => `${i.kind}/${i.name}`);

describe('planGc', () => {
  it('keeps an unpromoted chain whole: each generation is a clone of the one before', () => {
    const plan = planGc(chain(8), policy, NOW);
    expect(plan.delete).toEqual([]);
    expect(plan.keep.find((k) => k.name === 'c-g2')?.reason).toMatch(/^needed by volume\/c-v3$/);
    expect(plan.keep.find((k) => k.name === 'c-seed')?.reason).toBe('not managed by zfs-runner-hooks');
  });

  it('suggests promoting the oldest kept generation volume when the driver can promote', () => {
    const plan = planGc(chain(8), { ...policy, canPromote: true }, NOW);
    expect(plan.promote.map((p) => p.name)).toEqual(['c-v6']);
  });

  it('deletes generations older than the kept ones once the chain is detached, clones before snapshots before volumes', () => {
    const graph = chain(6);
    const detached: LineageGraph = { ...graph, volumes: graph.volumes.map((v) => (v.name === 'c-v4' ? { ...v, detached: true } : v)) };
    const plan = planGc(detached, policy, NOW);
    expect(names(plan.delete)).toEqual(['snapshot/c-g3', 'volume/c-v3', 'snapshot/c-g2', 'volume/c-v2', 'snapshot/c-g1']);
    expect(plan.delete[0]?.reason).toBe('generation 3 is older than the generations kept');
    expect(plan.keep.map((k) => k.name)).toContain('c-seed');
  });

  it('never deletes what a live clone of an old generation depends on', () => {
    const graph = chain(6);
    const withJob: LineageGraph = {
      ...graph,
      volumes: [...graph.volumes.map((v) => (v.name === 'c-v4' ? { ...v, detached: true } : v)), vol('job', { origin: 'c-g2', live: true })],
    };
    const plan = planGc(withJob, policy, NOW);
    expect(names(plan.delete)).toEqual(['snapshot/c-g3', 'volume/c-v3']);
    expect(plan.keep.find((k) => k.name === 'c-g2')?.reason).toBe('needed by volume/job');
  });

  it('deletes expired kept clones and keeps unexpired ones', () => {
    const graph: LineageGraph = {
      volumes: [vol('base'), vol('old', { origin: 'g1', expiresAt: NOW - 1 }), vol('fresh', { origin: 'g1', expiresAt: NOW + 1 })],
      snapshots: [snap('g1', 'base')],
      heads: [head('c', ['g1'])],
    };
    const plan = planGc(graph, policy, NOW);
    expect(plan.delete).toEqual([{ kind: 'volume', name: 'old', cache: 'c', reason: `expired at ${new Date(NOW - 1).toISOString()}` }]);
    expect(plan.keep.find((k) => k.name === 'fresh')?.reason).toBe(`kept until ${new Date(NOW + 1).toISOString()}`);
  });

  it('keeps a volume while any snapshot of it is kept, and deletes both together otherwise', () => {
    const graph: LineageGraph = {
      volumes: [vol('base'), vol('job', { origin: 'g1' })],
      snapshots: [snap('g1', 'base'), snap('cand', 'job', { expiresAt: NOW + 1000 })],
      heads: [head('c', ['g1'])],
    };
    expect(planGc(graph, policy, NOW).delete).toEqual([]);
    const expired = planGc(graph, policy, NOW + 2000);
    expect(names(expired.delete)).toEqual(['snapshot/cand', 'volume/job']);
  });

  it('keeps objects in their grace period (another job is cloning or snapshotting)', () => {
    const graph: LineageGraph = {
      volumes: [vol('base'), vol('job', { origin: 'g1', createdAt: NOW - 5000 })],
      snapshots: [snap('g1', 'base'), snap('cand', 'job', { ready: false, createdAt: NOW - 1000 })],
      heads: [head('c', ['g1'])],
    };
    expect(planGc(graph, policy, NOW).delete).toEqual([]);
    expect(planGc(graph, policy, NOW + 3_600_000).delete.map((d) => d.reason)).toEqual([
      'never became ready',
      'clone no longer used and nothing depends on it',
    ]);
  });

  it('leaves caches outside the requested scope and unmanaged objects alone', () => {
    const graph: LineageGraph = {
      volumes: [vol('base'), vol('a', { cache: 'other', origin: 'g1' }), vol('user', { managed: false, cache: undefined })],
      snapshots: [snap('g1', 'base'), snap('x', 'a', { cache: 'other' }), snap('y', 'user', { managed: false, cache: undefined })],
      heads: [head('c', ['g1']), head('other', ['g1'])],
    };
    expect(planGc(graph, { ...policy, caches: ['c'] }, NOW).delete).toEqual([]);
    expect(names(planGc(graph, policy, NOW).delete)).toEqual(['snapshot/x', 'volume/a']);
  });

  it('warns when a kept generation has lost its volume or does not exist', () => {
    const graph: LineageGraph = { volumes: [], snapshots: [snap('g2', 'gone')], heads: [head('c', ['g2', 'g1'])] };
    expect(planGc(graph, policy, NOW).warnings).toEqual([
      'cache "c": snapshot "g2" has lost its volume "gone"; its data may be gone',
      'cache "c": kept generation snapshot "g1" does not exist',
    ]);
  });

  it('keeps at least the head even with keepGenerations 0', () => {
    const graph: LineageGraph = { volumes: [vol('b')], snapshots: [snap('g1', 'b'), snap('g0', 'b')], heads: [head('c', ['g1', 'g0'])] };
    expect(names(planGc(graph, { ...policy, keepGenerations: 0 }, NOW).delete)).toEqual(['snapshot/g0']);
  });
});

describe('planGc with a head it cannot trust', () => {
  const expired: LineageGraph = {
    volumes: [vol('base'), vol('job', { origin: 'g1', expiresAt: NOW - 1 })],
    snapshots: [snap('g1', 'base'), snap('g0', 'base'), snap('cand', 'job', { expiresAt: NOW - 1 })],
    heads: [head('c', ['g1', 'g0'])],
  };
  const refusedAll = (plan: GcPlan) => {
    expect(plan.delete).toEqual([]);
    expect(plan.promote).toEqual([]);
    expect(plan.keep).toHaveLength(5);
  };

  it('collects the healthy cache (the baseline the refusals below change)', () => {
    expect(names(planGc(expired, { ...policy, keepGenerations: 1 }, NOW).delete)).toEqual(['snapshot/g0', 'snapshot/cand', 'volume/job']);
  });

  it('deletes nothing when the head ConfigMap does not parse', () => {
    const graph: LineageGraph = {
      ...expired,
      heads: [],
      brokenHeads: [{ cache: 'c', problem: 'ConfigMap "zfs-cache-c" is not a valid cache head: data.generation: expected a whole number.' }],
    };
    const plan = planGc(graph, policy, NOW);
    refusedAll(plan);
    expect(plan.refused).toEqual([{ cache: 'c', problem: 'ConfigMap "zfs-cache-c" is not a valid cache head: data.generation: expected a whole number.' }]);
    expect(plan.keep[0]?.reason).toMatch(/^gc refused: cache "c": ConfigMap "zfs-cache-c" is not a valid cache head/);
  });

  it.each([
    [
      'missing',
      (g: LineageGraph) => ({ ...g, snapshots: g.snapshots.filter((s) => s.name !== 'g1') }),
      'its head (generation 2) points at VolumeSnapshot "g1", which does not exist',
    ],
    [
      'being deleted',
      (g: LineageGraph) => ({ ...g, snapshots: g.snapshots.map((s) => (s.name === 'g1' ? { ...s, deleting: true } : s)) }),
      'its head snapshot "g1" is being deleted',
    ],
    [
      'not ready',
      (g: LineageGraph) => ({ ...g, snapshots: g.snapshots.map((s) => (s.name === 'g1' ? { ...s, ready: false } : s)) }),
      'its head snapshot "g1" is not ready',
    ],
  ])('deletes nothing when the head snapshot is %s', (_what, change, problem) => {
    const plan = planGc(change(expired), policy, NOW);
    expect(plan.refused).toEqual([{ cache: 'c', problem }]);
    expect(plan.delete).toEqual([]);
  });

  it('deletes nothing of a cache whose head is missing while its objects exist', () => {
    const plan = planGc({ ...expired, heads: [] }, policy, NOW);
    expect(plan.refused).toEqual([
      { cache: 'c', problem: expect.stringMatching(/^it has no head ConfigMap "zfs-cache-c" .*kubectl delete volumesnapshots,pvc -l zrh\.dev\/cache=c$/) },
    ]);
    expect(plan.delete).toEqual([]);
    expect(planGc({ ...expired, heads: [] }, { ...policy, caches: ['c'] }, NOW).delete).toEqual([]);
  });

  it('refuses a cache named for gc that has no head, and ignores broken caches outside the scope', () => {
    expect(planGc(expired, { ...policy, caches: ['gone'] }, NOW).refused).toEqual([
      { cache: 'gone', problem: expect.stringContaining('no head ConfigMap "zfs-cache-gone"') },
    ]);
    const other: LineageGraph = { ...expired, brokenHeads: [{ cache: 'other', problem: 'broken' }] };
    const plan = planGc(other, { ...policy, keepGenerations: 1, caches: ['c'] }, NOW);
    expect(plan.refused).toEqual([]);
    expect(names(plan.delete)).toEqual(['snapshot/g0', 'snapshot/cand', 'volume/job']);
    expect(planGc(other, policy, NOW).refused).toEqual([{ cache: 'other', problem: 'broken' }]);
  });
});

describe('planGc on random lineages (ZFS rules as properties)', () => {
  it.each(Array.from({ length: 300 }, (_, i) => i + 1))('holds for seed %i', (seed) => {
    const rand = random(seed);
    const drawn = randomGraph(rand, 2 + Math.floor(rand() * 30), Math.floor(rand() * 20));
    // Some job snapshots lost their volume (a cleanup_job killed before the hand-over).
    const graph: LineageGraph = {
      ...drawn,
      snapshots: drawn.snapshots.map((s) => (s.name.startsWith('cand') && rand() < 0.3 ? { ...s, candidate: true, lostVolume: 'not handed over' } : s)),
    };
    const p: GcPolicy = { keepGenerations: 1 + Math.floor(rand() * 4), graceSeconds: 600 };
    const plan = planGc(graph, p, NOW);
    const deps = dependencies(graph);
    const deleted = new Map<NodeKey, number>(plan.delete.map((d, i) => [`${d.kind}/${d.name}` as NodeKey, i]));
    const all = [...graph.volumes.map((v) => volumeKey(v.name)), ...graph.snapshots.map((s) => snapshotKey(s.name))];

    // Every object is either kept or deleted, never both.
    expect(plan.keep.length + plan.delete.length).toBe(all.length);
    for (const k of plan.keep) expect(deleted.has(`${k.kind}/${k.name}` as NodeKey)).toBe(false);

    for (const key of all) {
      const mine = deleted.get(key);
      for (const dep of deps.get(key) ?? []) {
        const theirs = deleted.get(dep);
        // Nothing kept depends on something deleted (snapshot with clones, volume with snapshots).
        if (mine === undefined) expect(theirs, `${key} is kept but ${dep} is deleted`).toBeUndefined();
        // Dependents are deleted before what they depend on.
        if (mine !== undefined && theirs !== undefined) expect(mine).toBeLessThan(theirs);
      }
    }
    const liveOrKept = graph.volumes.filter(
      (v) => !v.managed || v.live || (v.expiresAt ?? 0) > NOW || (v.expiresAt === undefined && v.createdAt > NOW - 600_000),
    );
    for (const v of liveOrKept) expect(deleted.has(volumeKey(v.name))).toBe(false);
    const h = graph.heads[0];
    if (h && graph.snapshots.some((s) => s.name === h.snapshot)) expect(deleted.has(snapshotKey(h.snapshot))).toBe(false);

    // Nothing is kept without a reason: a kept managed object is a root or needed by a kept one.
    const keptKeys = new Set(plan.keep.map((k) => `${k.kind}/${k.name}`));
    for (const k of plan.keep) {
      if (!k.reason.startsWith('needed by ')) continue;
      const by = k.reason.slice('needed by '.length);
      expect(keptKeys.has(by)).toBe(true);
      expect(deps.get(by as NodeKey)).toContain(`${k.kind}/${k.name}`);
    }
  });

  it('collects expired and leaked objects of a random lineage', () => {
    const graph = randomGraph(random(7), 40, 60);
    expect(planGc(graph, policy, NOW + 86_400_000).delete.length).toBeGreaterThan(0);
    expect(T0).toBeLessThan(NOW);
  });
});

describe('planGc and a job snapshot that lost its volume (cleanup_job killed before the hand-over)', () => {
  const LEASE = NOW + 3_600_000;
  /** Candidate `cand` of clone `job` (gone unless `withJob`), made `age` ms ago, its lease running. */
  function lost(age: number, fields: Partial<SnapshotNode> = {}, withJob?: Partial<VolumeNode>): LineageGraph {
    return {
      volumes: [vol('base'), ...(withJob ? [vol('job', { origin: 'g1', ...withJob })] : [])],
      snapshots: [
        snap('g1', 'base'),
        snap('cand', 'job', {
          candidate: true,
          kept: false,
          lostVolume: withJob ? 'not handed over' : 'gone',
          expiresAt: LEASE,
          createdAt: NOW - age,
          ...fields,
        }),
      ],
      heads: [head('c', ['g1'])],
    };
  }
  const grace0: GcPolicy = { keepGenerations: 3, graceSeconds: 0 };

  it('deletes it once older than the hand-over grace although its lease runs, and says why', () => {
    const plan = planGc(lost((HANDOVER_GRACE_SECONDS + 1) * 1000), grace0, NOW);
    expect(plan.delete).toEqual([
      { kind: 'snapshot', name: 'cand', cache: 'c', reason: 'it has lost its volume: PVC "job" is gone; it can never be restored' },
    ]);
  });

  it('keeps it while its cleanup_job may still hand the volume over, even with grace 0, and within a longer grace', () => {
    const young = planGc(lost((HANDOVER_GRACE_SECONDS - 1) * 1000), grace0, NOW);
    expect(young.delete).toEqual([]);
    expect(young.keep.find((k) => k.name === 'cand')?.reason).toBe('recently created (its volume may still be handed over)');
    expect(planGc(lost(500_000), { ...grace0, graceSeconds: 600 }, NOW).delete).toEqual([]);
    expect(names(planGc(lost(601_000), { ...grace0, graceSeconds: 600 }, NOW).delete)).toEqual(['snapshot/cand']);
  });

  it('deletes it at once when its lease has run out, however young', () => {
    const plan = planGc(lost(1000, { expiresAt: NOW - 1 }), grace0, NOW);
    expect(plan.delete).toEqual([{ kind: 'snapshot', name: 'cand', cache: 'c', reason: `expired at ${new Date(NOW - 1).toISOString()}` }]);
  });

  it('keeps a candidate that did get its volume until its lease ends (the baseline)', () => {
    const handedOver = lost(600_000, { lostVolume: undefined }, { createdAt: T0 });
    expect(planGc(handedOver, grace0, NOW).keep.find((k) => k.name === 'cand')?.reason).toBe(`kept until ${new Date(LEASE).toISOString()}`);
    expect(names(planGc(handedOver, grace0, LEASE + 1).delete)).toEqual(['snapshot/cand', 'volume/job']);
  });

  it('deletes the snapshot but not the live clone whose job pod still owns it', () => {
    const plan = planGc(lost(600_000, {}, { live: true }), grace0, NOW);
    expect(plan.delete).toEqual([
      {
        kind: 'snapshot',
        name: 'cand',
        cache: 'c',
        reason:
          'it has lost its volume: PVC "job" was never handed over to it (its cleanup_job stopped between taking the snapshot and making it the PVC\'s owner), so it goes with its job pod; it can never be restored',
      },
    ]);
    expect(plan.keep.find((k) => k.name === 'job')?.reason).toBe('in use by a job');
  });

  it('never deletes one kept on purpose before its keep time ends, and warns that it cannot be restored', () => {
    const plan = planGc(lost(600_000, { kept: true }), grace0, NOW);
    expect(plan.delete).toEqual([]);
    expect(plan.warnings).toEqual([
      `snapshot "cand" is kept (kept until ${new Date(LEASE).toISOString()}) but it has lost its volume: PVC "job" is gone; it can never be restored`,
    ]);
    expect(names(planGc(lost(600_000, { kept: true }), grace0, LEASE + 1).delete)).toEqual(['snapshot/cand']);
  });

  it('never deletes the head or a kept generation, nor what a clone still depends on', () => {
    const asHead: LineageGraph = { ...lost(600_000), heads: [head('c', ['cand', 'g1'])] };
    expect(planGc(asHead, grace0, NOW).delete).toEqual([]);
    const asGeneration: LineageGraph = { ...lost(600_000), heads: [head('c', ['g1', 'cand'])] };
    expect(planGc(asGeneration, grace0, NOW).keep.find((k) => k.name === 'cand')?.reason).toBe('generation 1 of cache c');
    const cloned = lost(600_000);
    const withClone: LineageGraph = { ...cloned, volumes: [...cloned.volumes, vol('restore', { origin: 'cand', live: true })] };
    expect(planGc(withClone, grace0, NOW).keep.find((k) => k.name === 'cand')?.reason).toBe('needed by volume/restore');
  });
});
