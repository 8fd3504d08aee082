/**
 * A hook process killed (SIGKILL, no chance to clean up) in the middle of prepare_job or
 * cleanup_job: what the next cleanup_job and `zfs-clone gc` make of it. Nothing may leak and the
 * cache head must stay consistent (pointing at a ready snapshot, moved fast-forward only).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../cluster/harness.js';
import type { HookCall } from '../../simulator/runner.js';
import type { StartedRunner } from '../../simulator/start.js';
import { createCacheWorld, jobContainer, output, SNAPSHOTS, type CacheWorld } from './cache-fixtures.js';

const PROMOTING = { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true' };

describe('a hook killed mid-command', () => {
  let world: CacheWorld;

  beforeAll(async () => {
    world = await createCacheWorld('cache-crash');
  });
  afterAll(async () => {
    await world?.dispose();
  });

  /** Runs `command`, and SIGKILLs the hook as soon as `moment` holds. */
  async function killWhen(runner: StartedRunner, command: () => Promise<HookCall>, what: string, moment: () => Promise<boolean>): Promise<HookCall> {
    const running = command();
    await waitFor(what, moment, (hit) => hit || !runner.simulator.busy, { intervalMs: 50, timeoutMs: 120_000 });
    expect(runner.simulator.kill('SIGKILL'), `the hook was still running when ${what}`).toBe(true);
    const call = await running;
    expect(call.signal).toBe('SIGKILL');
    return call;
  }

  async function labelled(runnerPod: string): Promise<{ pods: string[]; pvcs: string[] }> {
    const selector = { namespace: world.ns.name, labelSelector: `runner-pod=${runnerPod}` };
    const [pods, pvcs] = await Promise.all([world.core.listNamespacedPod(selector), world.core.listNamespacedPersistentVolumeClaim(selector)]);
    const alive = (o: { metadata?: { name?: string; deletionTimestamp?: unknown } }) => !o.metadata?.deletionTimestamp;
    return { pods: pods.items.filter(alive).map((p) => p.metadata?.name ?? ''), pvcs: pvcs.items.filter(alive).map((p) => p.metadata?.name ?? '') };
  }

  async function headIsReady(): Promise<void> {
    const { snapshot } = await world.head();
    const object = (await world.custom.getNamespacedCustomObject({ ...SNAPSHOTS, namespace: world.ns.name, name: snapshot })) as {
      status?: { readyToUse?: boolean };
    };
    expect(object.status?.readyToUse, `head snapshot ${snapshot} ready`).toBe(true);
  }

  it('killed while the job pod starts: cleanup_job without state removes the clone and the pod', async () => {
    const before = await world.head();
    const runner = await world.runner();
    await killWhen(
      runner,
      () => runner.simulator.prepareJob(jobContainer(PROMOTING)),
      'the job pod exists',
      async () => (await labelled(runner.pod.name)).pods.length > 0,
    );
    expect(runner.simulator.state).toBeNull();
    expect((await labelled(runner.pod.name)).pvcs).toHaveLength(1);

    const cleanup = await runner.simulator.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    expect(output(cleanup)).toMatch(/Deleted leftover clone PVCs: /);
    await waitFor(
      'no pod or clone of the runner',
      () => labelled(runner.pod.name),
      (o) => o.pods.length === 0 && o.pvcs.length === 0,
    );
    expect(await world.head()).toEqual(before);
  });

  it('killed right after creating the clone PVC: cleanup_job without state removes it', async () => {
    const runner = await world.runner();
    await killWhen(
      runner,
      () => runner.simulator.prepareJob(jobContainer(PROMOTING)),
      'the clone PVC exists',
      async () => (await labelled(runner.pod.name)).pvcs.length > 0,
    );
    expect((await runner.simulator.cleanupJob()).ok).toBe(true);
    await waitFor(
      'no pod or clone of the runner',
      () => labelled(runner.pod.name),
      (o) => o.pods.length === 0 && o.pvcs.length === 0,
    );
  });

  it('killed while the snapshot is taken back: a second cleanup_job finishes the promotion, gc leaves the head whole', async () => {
    const before = await world.head();
    const runner = await world.runner();
    expect((await runner.simulator.prepareJob(jobContainer(PROMOTING))).ok).toBe(true);
    expect((await runner.simulator.runScript('echo after-crash > "$CONAN_HOME/p/crash.txt"\n')).exitCode).toBe(0);
    const snapshotsBefore = (await world.objects()).snapshots;
    await killWhen(
      runner,
      () => runner.simulator.cleanupJob(),
      'the snapshot-back exists',
      async () => (await world.objects()).snapshots.length > snapshotsBefore.length,
    );
    // The head only moves with a ready snapshot: killed before the promotion, it has not moved.
    const afterKill = await world.head();
    expect([before.generation, before.generation + 1]).toContain(afterKill.generation);
    await headIsReady();

    // The runner runs cleanup_job once; a retry (same state) is idempotent and completes the work.
    const retry = await runner.simulator.cleanupJob();
    expect(retry.ok, output(retry)).toBe(true);
    const head = await world.head();
    expect(head.generation).toBe(before.generation + 1);
    await headIsReady();
    await waitFor(
      'no pod of the runner',
      () => labelled(runner.pod.name),
      (o) => o.pods.length === 0,
    );

    const gc = await world.cli('gc', 'conan');
    expect(gc.code, gc.err).toBe(0);
    await headIsReady();
    expect(await world.head()).toEqual(head);

    // The next job sees the crashed job's write.
    const next = await world.runner();
    expect((await next.simulator.prepareJob(jobContainer({ ZFS_CLONE_SOURCE: 'conan' }))).ok).toBe(true);
    const read = await next.simulator.runScript('cat "$CONAN_HOME/p/crash.txt"\n');
    expect(read.stdout).toContain('after-crash');
    expect((await next.simulator.cleanupJob()).ok).toBe(true);
  });

  it('killed mid-cleanup and never retried: the runner pod goes, gc collects what expired, the head stays whole', async () => {
    const before = await world.head();
    const runner = await world.runner();
    expect((await runner.simulator.prepareJob(jobContainer(PROMOTING))).ok).toBe(true);
    const snapshotsBefore = (await world.objects()).snapshots;
    await killWhen(
      runner,
      () => runner.simulator.cleanupJob(),
      'the snapshot-back exists',
      async () => (await world.objects()).snapshots.length > snapshotsBefore.length,
    );
    await runner.dispose();
    await waitFor(
      'the job pod gone with the runner pod',
      () => labelled(runner.pod.name),
      (o) => o.pods.length === 0,
    );
    await headIsReady();
    const head = await world.head();
    expect([before.generation, before.generation + 1]).toContain(head.generation);

    // What is left is either the head's own lineage or carries an expiry gc honours.
    const plan = await world.cli('gc', 'conan', '--dry-run', '-o', 'json');
    expect(plan.code, plan.err).toBe(0);
    const gc = await world.cli('gc', 'conan');
    expect(gc.code, gc.err).toBe(0);
    await headIsReady();
    expect(await world.head()).toEqual(head);
  });
});
