/**
 * 20 jobs clone the same cache generation on the real node, and their cleanup_jobs all try to
 * promote it at once; a third of the jobs make their flush fail (the job puts a `sync` that fails
 * first on the job container's PATH: the flush runs the job container's own `sync`). Watched
 * from outside the whole time, the head moves exactly once, fast-forward, to a ready snapshot of
 * a job whose flush succeeded; a failed flush means no snapshot and no promotion; every loser
 * does what its `ZFS_CLONE_ON_CONFLICT` says; the next job sees the winner's files and no one
 * else's; and once the keep times run out gc leaves only the cache's generations.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../cluster/harness.js';
import type { HookCall } from '../../simulator/runner.js';
import type { StartedRunner } from '../../simulator/start.js';
import { createCacheWorld, output, SNAPSHOTS, type CacheWorld, type Inventory } from './cache-fixtures.js';

const CACHE = 'race';
const JOBS = 20;
/** Jobs whose flush fails: every third. */
const failsFlush = (i: number) => i % 3 === 0;
/** What the losers ask for: drop and keep alternately. */
const onConflict = (i: number): 'drop' | 'keep' => (i % 2 === 0 ? 'drop' : 'keep');
/** The lightest image with a shell. */
const BUSYBOX = 'zrh.local/busybox:1';
/** Printed by the job's failing `sync`. */
const SYNC_ERROR = "sync: error syncing '/CONAN_HOME': Input/output error (km)";
/**
 * The runner's cap on kept snapshots, above the number of jobs that may keep one here: the race
 * is about who promotes and what each loser does with its snapshot, not about the cap.
 */
const RUNNER_ENV = { ZFS_CLONE_MAX_KEPT_SNAPSHOTS: String(JOBS) };
/** Runners started at a time (each is a pod with a work claim on the real node). */
const STARTING = 5;

interface Job {
  readonly i: number;
  readonly runner: StartedRunner;
  /** The job's clone PVC. */
  clone: string;
  cleanup?: HookCall;
}

/** A head as the watcher saw it. */
interface SeenHead {
  readonly generation: number;
  readonly snapshot: string;
  readonly previous: string | undefined;
  /** The snapshot's `readyToUse` and deletion, read as soon as the head was seen. */
  readonly ready: boolean;
  readonly deleting: boolean;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const at = next++;
      results[at] = await task(items[at] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

describe(`${JOBS} cleanup_jobs promoting one cache at once, a third of them with a failing flush`, () => {
  let world: CacheWorld;
  const jobs: Job[] = [];

  beforeAll(async () => {
    world = await createCacheWorld('cache-race', CACHE);
  });
  afterAll(async () => {
    await world?.dispose();
  });

  it('moves the head once, fast-forward, to a ready snapshot of a flushed job; the losers follow ZFS_CLONE_ON_CONFLICT; nothing is left', async () => {
    const start = await world.head(CACHE);
    const runners = await mapLimit(
      Array.from({ length: JOBS }, (_, i) => i),
      STARTING,
      () => world.runner({ runnerEnv: RUNNER_ENV }),
    );

    // All jobs clone the same generation.
    const prepared = await Promise.all(
      runners.map((runner, i) =>
        runner.simulator.prepareJob({ image: BUSYBOX, env: { ZFS_CLONE_SOURCE: CACHE, ZFS_CLONE_PROMOTE: 'true', ZFS_CLONE_ON_CONFLICT: onConflict(i) } }),
      ),
    );
    for (const [i, call] of prepared.entries()) expect(call.ok, `prepare_job of job ${i}:\n${output(call)}`).toBe(true);
    for (const [i, runner] of runners.entries()) {
      const [clone] = (await world.inventory(runner.pod.name, CACHE)).pvcs;
      expect(clone, `job ${i} has a clone`).toBeDefined();
      jobs.push({ i, runner, clone: clone?.name ?? '' });
    }

    // Each job writes its own file; a third also make the flush fail.
    const steps = await Promise.all(
      jobs.map((job) =>
        job.runner.simulator.runScript(
          `mkdir -p "$CONAN_HOME/p" && echo "job ${job.i}" > "$CONAN_HOME/p/job-${job.i}.txt"\n` +
            (failsFlush(job.i)
              ? `mkdir -p /usr/local/bin && printf '#!/bin/sh\\necho "%s" >&2\\nexit 1\\n' "${SYNC_ERROR}" > /usr/local/bin/sync && chmod +x /usr/local/bin/sync\n`
              : ''),
        ),
      ),
    );
    for (const [i, call] of steps.entries()) expect(call.exitCode, `the step of job ${i}:\n${output(call)}`).toBe(0);

    // Every version of the head, as it happens, with the state of the snapshot it points at.
    const seen: SeenHead[] = [];
    const checks: Promise<void>[] = [];
    const watcher = await world.watch<V1ConfigMap>('configmaps', 'zrh.dev/role=head', (_type, cm) => {
      const data = cm.data ?? {};
      if (cm.metadata?.name !== `zfs-cache-${CACHE}` || Number(data['generation']) === start.generation) return;
      const history = JSON.parse(data['history'] ?? '[]') as { snapshot: string }[];
      const snapshot = data['snapshot'] ?? '';
      checks.push(
        (
          world.custom.getNamespacedCustomObject({ ...SNAPSHOTS, namespace: world.ns.name, name: snapshot }) as Promise<{
            status?: { readyToUse?: boolean };
            metadata?: { deletionTimestamp?: string };
          }>
        ).then(
          (s) =>
            void seen.push({
              generation: Number(data['generation']),
              snapshot,
              previous: history[1]?.snapshot,
              ready: s.status?.readyToUse === true,
              deleting: Boolean(s.metadata?.deletionTimestamp),
            }),
          () => void seen.push({ generation: Number(data['generation']), snapshot, previous: history[1]?.snapshot, ready: false, deleting: true }),
        ),
      );
    });

    // All cleanup_jobs at once.
    const cleanups = await Promise.all(jobs.map((job) => job.runner.simulator.cleanupJob()));
    watcher.stop();
    await Promise.all(checks);
    cleanups.forEach((call, i) => {
      expect(call.ok, `cleanup_job of job ${i}:\n${output(call)}`).toBe(true);
      (jobs[i] as Job).cleanup = call;
    });

    // The head moved once, fast-forward, to a ready snapshot.
    const head = await world.headWithHistory(CACHE);
    expect(head.generation).toBe(start.generation + 1);
    expect(head.history[1]).toEqual(start);
    expect(seen.map((h) => ({ ...h, snapshot: '' }))).toEqual([
      { generation: start.generation + 1, snapshot: '', previous: start.snapshot, ready: true, deleting: false },
    ]);
    expect(seen[0]?.snapshot).toBe(head.snapshot);

    // Exactly one job promoted, and its flush had succeeded.
    const winners = jobs.filter((job) => /now at generation/.test(output(job.cleanup as HookCall)));
    expect(winners.map((w) => w.i)).toHaveLength(1);
    const winner = winners[0] as Job;
    expect(failsFlush(winner.i), `job ${winner.i} promoted although its flush failed:\n${output(winner.cleanup as HookCall)}`).toBe(false);

    const inventories = new Map<number, Inventory>();
    for (const job of jobs) inventories.set(job.i, await world.inventory(job.runner.pod.name, CACHE));
    for (const job of jobs) {
      const said = output(job.cleanup as HookCall);
      const inv = inventories.get(job.i) as Inventory;
      const mine = inv.snapshots.filter((s) => s.runnerPod === job.runner.pod.name && !s.deleting);
      // The clone lives on only as the volume of a snapshot it owns.
      const clone = inv.pvcs.filter((p) => !p.deleting).map((p) => p.owners);
      if (job === winner) {
        expect(mine.map((s) => s.name)).toEqual([head.snapshot]);
        expect(clone).toEqual([[`VolumeSnapshot/${head.snapshot}`]]);
      } else if (failsFlush(job.i)) {
        // A failed flush: no snapshot back, no promotion, and the log says why.
        expect(said, `job ${job.i}`).toContain(SYNC_ERROR);
        expect(said, `job ${job.i}`).not.toMatch(/Snapshot \S+ of the clone is ready/);
        expect(mine, `job ${job.i} took no snapshot`).toEqual([]);
        expect(clone, `job ${job.i} released its clone`).toEqual([]);
      } else if (onConflict(job.i) === 'drop') {
        expect(said, `job ${job.i}`).toMatch(
          new RegExp(`moved to generation ${head.generation} since this job cloned generation ${start.generation}; snapshot \\S+ dropped`),
        );
        expect(mine, `job ${job.i} dropped its snapshot`).toEqual([]);
        expect(clone, `job ${job.i} released its clone`).toEqual([]);
      } else {
        expect(said, `job ${job.i}`).toMatch(/moved on meanwhile; snapshot \S+ kept until/);
        expect(
          mine.map((s) => [s.ready, s.role, Date.parse(s.expiresAt ?? '') > Date.now() + 3_600_000]),
          `job ${job.i} kept its snapshot`,
        ).toEqual([[true, 'candidate', true]]);
        expect(clone).toEqual([[`VolumeSnapshot/${mine[0]?.name ?? '?'}`]]);
      }
    }

    // The next job clones the winner's cache: its file, and no other job's.
    const next = await world.runner();
    expect((await next.simulator.prepareJob({ image: BUSYBOX, env: { ZFS_CLONE_SOURCE: CACHE } })).ok).toBe(true);
    const listing = await next.simulator.runScript('ls "$CONAN_HOME/p"\n');
    expect(listing.stdout.split('\n').filter((l) => l.startsWith('job-'))).toEqual([`job-${winner.i}.txt`]);
    expect((await next.simulator.cleanupJob()).ok).toBe(true);

    // The runner pods go; once the keep times have run out gc leaves the generations alone.
    await Promise.all([...jobs.map((job) => job.runner.dispose()), next.dispose()]);
    await waitFor(
      "no pod, Secret or clone of the jobs left but the winner's and the kept snapshots'",
      () => Promise.all(jobs.map((job) => world.inventory(job.runner.pod.name, CACHE))),
      (all) =>
        all.every((inv) => inv.pods.length === 0 && inv.secrets.length === 0 && inv.pvcs.every((p) => p.owners.some((o) => o.startsWith('VolumeSnapshot/')))),
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    await world.expireKept(CACHE);
    const gc = await world.cli('gc', CACHE, '--grace', '0');
    expect(gc.code, gc.err).toBe(0);
    const collected = await waitFor(
      'only the generations of the cache left',
      () => world.inventory(winner.runner.pod.name, CACHE),
      (inv) => inv.snapshots.every((s) => s.deleting || inv.head.history.some((h) => h.snapshot === s.name)),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(
      collected.snapshots
        .filter((s) => !s.deleting)
        .map((s) => s.name)
        .sort(),
    ).toEqual([start.snapshot, head.snapshot].sort());
    expect(await world.headWithHistory(CACHE)).toEqual(head);
  });
});
