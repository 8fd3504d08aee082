/**
 * What the hook refuses when a workflow asks for a clone it may not or cannot have: prepare_job
 * fails with a message that says what to change, and nothing is left in the cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../cluster/harness.js';
import type { StartedRunner } from '../../simulator/start.js';
import { createCacheWorld, jobContainer, output, SNAPSHOTS, type CacheWorld } from './cache-fixtures.js';

describe('refused clones', () => {
  let world: CacheWorld;
  let runner: StartedRunner;

  beforeAll(async () => {
    world = await createCacheWorld('cache-refuse');
    runner = await world.runner();
    // A snapshot of a PVC that does not exist never becomes ready.
    await world.custom.createNamespacedCustomObject({
      ...SNAPSHOTS,
      namespace: world.ns.name,
      body: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'never-ready' },
        spec: { volumeSnapshotClassName: 'csi-hostpath-snapclass', source: { persistentVolumeClaimName: 'no-such-pvc' } },
      },
    });
  });
  afterAll(async () => {
    await world?.dispose();
  });

  /** prepare_job must fail with `message`, then cleanup_job (state null, like the runner) leaves exactly what was there before. */
  async function refused(env: Record<string, string>, message: string | RegExp): Promise<void> {
    const before = await world.objects();
    runner.simulator.setState(null);
    const prepare = await runner.simulator.prepareJob(jobContainer(env));
    expect(prepare.exitCode, output(prepare)).toBe(1);
    expect(output(prepare)).toMatch(message);
    const cleanup = await runner.simulator.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    await waitFor(
      'nothing left behind',
      () => world.objects(),
      (o) => JSON.stringify(o) === JSON.stringify(before),
    );
  }

  it('refuses a source outside ZFS_CLONE_ALLOWED_SOURCES before creating anything', async () => {
    const before = await world.objects();
    const prepare = await runner.simulator.prepareJob(jobContainer({ ZFS_CLONE_SOURCE: 'snapshot:never-ready' }));
    expect(prepare.exitCode).toBe(1);
    expect(output(prepare)).toContain(
      'container.env.ZFS_CLONE_SOURCE: "snapshot:never-ready" is not allowed by the runner\'s ZFS_CLONE_ALLOWED_SOURCES (cache:*); choose an allowed source or ask the runner\'s administrator.',
    );
    // Checked before the cleanup: no object was ever created.
    expect(await world.objects()).toEqual(before);
    expect(prepare.stdout).not.toMatch(/"POST [^"]*pods"/);
    expect((await runner.simulator.cleanupJob()).ok).toBe(true);
  });

  it('names the missing cache and how to create it', async () => {
    await refused({ ZFS_CLONE_SOURCE: 'clang' }, /Cache "clang" does not exist in namespace "cache-refuse-[0-9a-f]+" .*zfs-clone seed clang --from-pvc <pvc>/);
  });

  it('names a missing snapshot and a snapshot that is not ready', async () => {
    const permissive = await world.runner({ runnerEnv: { ZFS_CLONE_ALLOWED_SOURCES: 'cache:*,snapshot:*' } });
    const saved = runner;
    runner = permissive;
    try {
      await refused({ ZFS_CLONE_SOURCE: 'snapshot:missing' }, /VolumeSnapshot "missing" does not exist in namespace/);
      await refused({ ZFS_CLONE_SOURCE: 'snapshot:never-ready' }, /VolumeSnapshot "never-ready" in namespace "[^"]+" is not ready \(readyToUse=false\)/);
    } finally {
      runner = saved;
    }
  });

  it('reports an unknown StorageClass from the provisioner and deletes the clone PVC', async () => {
    await refused(
      { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_STORAGE_CLASS: 'no-such-class' },
      /Clone PVC "[^"]+" in namespace "[^"]+" cannot be provisioned: .*"no-such-class" not found.*check ZFS_CLONE_STORAGE_CLASS/,
    );
  });

  it('lists every bad setting at once', async () => {
    await refused(
      { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_MOUNT_PATH: 'relative', ZFS_CLONE_SNAPSHOT_BACK: 'sometimes' },
      /Invalid ZFS clone configuration \(2 problems\):.*container\.env\.ZFS_CLONE_MOUNT_PATH: .*container\.env\.ZFS_CLONE_SNAPSHOT_BACK: /s,
    );
  });

  it('an unknown VolumeSnapshotClass fails the snapshot-back at once, leaving the head and nothing else', async () => {
    const head = await world.head();
    const before = await world.objects();
    const job = await world.runner();
    const prepare = await job.simulator.prepareJob(
      jobContainer({ ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true', ZFS_CLONE_SNAPSHOT_CLASS: 'no-such-snapclass' }),
    );
    expect(prepare.ok, output(prepare)).toBe(true);
    const started = Date.now();
    const cleanup = await job.simulator.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    expect(output(cleanup)).toMatch(
      /snapshot back failed: VolumeSnapshot "[^"]+" in namespace "[^"]+" cannot be taken: .*"no-such-snapclass" not found\. Set ZFS_CLONE_SNAPSHOT_CLASS/,
    );
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await world.head()).toEqual(head);
    await job.dispose();
    await waitFor(
      'nothing left behind',
      () => world.objects(),
      (o) => JSON.stringify({ ...o, pods: [] }) === JSON.stringify({ ...before, pods: [] }) && !o.pods.some((p) => p.startsWith(job.pod.name)),
    );
  });
});
