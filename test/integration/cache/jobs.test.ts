/**
 * The ZFS-clone cache through the real hook bundle, run by the runner simulator like the runner
 * runs it, on the real node: the clone is mounted at /CONAN_HOME in the job container. (The
 * host-path CSI driver copies where zfs-localpv clones in O(1); the behaviour is the same.)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../cluster/harness.js';
import { createCacheWorld, DEBIAN_NONROOT, jobContainer, output, SEED_FILE, SEED_TEXT, type CacheWorld } from './cache-fixtures.js';

const PROMOTING = { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true' };

describe('the clone cache through prepare_job and cleanup_job', () => {
  let world: CacheWorld;

  beforeAll(async () => {
    world = await createCacheWorld('cache-jobs');
  });
  afterAll(async () => {
    await world?.dispose();
  });

  /** The clone PVC the job's state names, as the cluster has it. */
  async function clonePvc(state: unknown): Promise<V1PersistentVolumeClaim> {
    const name = (state as { clone?: { pvc?: string } }).clone?.pvc;
    expect(name, 'state.clone.pvc').toBeTruthy();
    return world.core.readNamespacedPersistentVolumeClaim({ name: name ?? '', namespace: world.ns.name });
  }

  it('job 1 clones the head, writes /CONAN_HOME and promotes; job 2 sees its file', async () => {
    const { simulator: job1 } = await world.runner();
    const prepared = await job1.prepareJob(jobContainer(PROMOTING));
    expect(prepared.ok, output(prepared)).toBe(true);
    const pvc = await clonePvc(prepared.stateAfter);
    const seedSnapshot = (await world.head()).snapshot;
    expect(pvc.spec?.dataSource).toMatchObject({ kind: 'VolumeSnapshot', name: seedSnapshot });
    expect(pvc.spec?.resources?.requests?.['storage']).toBe('10Mi');

    const step = await job1.runScript(
      `echo "CONAN_HOME=$CONAN_HOME"\ncat "$CONAN_HOME/${SEED_FILE}"\necho 'fmt/10 built by job 1' > "$CONAN_HOME/p/fmt.txt"\n`,
    );
    expect(step.exitCode, output(step)).toBe(0);
    expect(step.stdout).toContain('CONAN_HOME=/CONAN_HOME');
    expect(step.stdout).toContain(SEED_TEXT.trim());

    const cleanup = await job1.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    expect(output(cleanup)).toMatch(/Cache conan now at generation 2 \(/);
    expect(output(cleanup)).not.toContain('flush failed');
    const head = await world.head();
    expect(head.generation).toBe(2);
    expect(head.snapshot).not.toBe(seedSnapshot);
    // The promoted clone outlives the job pod: it backs the new generation.
    expect((await world.objects()).pvcs).toContain(pvc.metadata?.name);

    const { simulator: job2 } = await world.runner();
    expect((await job2.prepareJob(jobContainer({ ZFS_CLONE_SOURCE: 'conan' }))).ok).toBe(true);
    const read = await job2.runScript('cat "$CONAN_HOME/p/fmt.txt"\n');
    expect(read.exitCode, output(read)).toBe(0);
    expect(read.stdout).toContain('fmt/10 built by job 1');
    expect((await job2.cleanupJob()).ok).toBe(true);
  });

  it('a job keeps its clone when another job moves the head, and then loses the promotion cleanly', async () => {
    const before = await world.head();
    const { simulator: slow } = await world.runner();
    expect((await slow.prepareJob(jobContainer(PROMOTING))).ok).toBe(true);
    expect((await slow.runScript('echo slow > "$CONAN_HOME/p/slow.txt"\n')).exitCode).toBe(0);

    const { simulator: fast } = await world.runner();
    expect((await fast.prepareJob(jobContainer(PROMOTING))).ok).toBe(true);
    expect((await fast.runScript('echo fast > "$CONAN_HOME/p/fast.txt"\n')).exitCode).toBe(0);
    expect((await fast.cleanupJob()).ok).toBe(true);
    expect((await world.head()).generation).toBe(before.generation + 1);

    const still = await slow.runScript('cat "$CONAN_HOME/p/slow.txt" "$CONAN_HOME/' + SEED_FILE + '"\ntest ! -e "$CONAN_HOME/p/fast.txt"\n');
    expect(still.exitCode, output(still)).toBe(0);
    expect(still.stdout).toContain('slow');
    const pvc = (await clonePvc(slow.state)).metadata?.name ?? '';
    const lost = await slow.cleanupJob();
    expect(lost.ok, output(lost)).toBe(true);
    expect(output(lost)).toContain(`Cache conan moved to generation ${before.generation + 1} since this job cloned generation ${before.generation}; snapshot`);
    expect((await world.head()).generation).toBe(before.generation + 1);
    await waitFor(
      'the losing clone and its snapshot gone',
      () => world.objects(),
      (o) => !o.pvcs.includes(pvc) && !o.snapshots.some((s) => s.startsWith(pvc.replace(/-[0-9a-f]{8}$/, ''))),
    );
  });

  it('does not promote a job whose step failed under on-success, and releases its clone', async () => {
    const before = await world.head();
    const { simulator, pod } = await world.runner();
    expect((await simulator.prepareJob(jobContainer(PROMOTING))).ok).toBe(true);
    const pvc = (await clonePvc(simulator.state)).metadata?.name ?? '';
    expect((await simulator.runScript('echo broken > "$CONAN_HOME/p/broken.txt"\n')).exitCode).toBe(0);
    expect((await simulator.runScript('exit 3\n')).exitCode).toBe(3);
    const cleanup = await simulator.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    expect(await world.head()).toEqual(before);
    await waitFor(
      'no clone or snapshot of the failed job',
      () => world.objects(),
      (o) => !o.pvcs.includes(pvc) && !o.snapshots.some((s) => s.startsWith(pod.name)),
    );
  });

  it('a pull_request job uses the clone but cannot promote', async () => {
    const before = await world.head();
    const { simulator, pod } = await world.runner({ facts: { eventName: 'pull_request', ref: 'refs/pull/7/merge' } });
    const prepared = await simulator.prepareJob(jobContainer(PROMOTING));
    expect(prepared.ok, output(prepared)).toBe(true);
    expect(output(prepared)).toContain('ZFS_CLONE_PROMOTE=true is ignored: event "pull_request" is not in the runner\'s ZFS_CLONE_PROMOTE_EVENTS');
    expect((await simulator.runScript('echo pr > "$CONAN_HOME/p/pr.txt"\n')).exitCode).toBe(0);
    expect((await simulator.cleanupJob()).ok).toBe(true);
    expect(await world.head()).toEqual(before);
    expect((await world.objects()).snapshots.filter((s) => s.startsWith(pod.name))).toEqual([]);
  });

  /** A step that puts a `sync` in front of the image's own (first in PATH) that answers like `script`. */
  const fakeSync = (script: string) => `cat > /usr/local/bin/sync <<'EOF'\n#!/bin/sh\n${script}\nEOF\nchmod +x /usr/local/bin/sync\n`;

  it("flushes with a plain sync when the image's sync has no -f, and still promotes", async () => {
    const before = await world.head();
    const { simulator } = await world.runner();
    expect((await simulator.prepareJob(jobContainer(PROMOTING))).ok).toBe(true);
    // coreutils before 8.24: `sync -f` is an invalid option.
    const older = fakeSync(
      `case "$1" in -*) echo "sync: invalid option -- '\${1#-}'" >&2; echo "Try 'sync --help' for more information." >&2; exit 1;; esac\nexec /usr/bin/sync`,
    );
    const step = await simulator.runScript(`${older}echo old-sync > "$CONAN_HOME/p/old-sync.txt"\n`);
    expect(step.exitCode, output(step)).toBe(0);
    const cleanup = await simulator.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    expect(output(cleanup)).toContain('`sync` in the job container has no -f: flushed every file system instead of /CONAN_HOME');
    expect(output(cleanup)).not.toContain('flush failed');
    expect((await world.head()).generation).toBe(before.generation + 1);
  });

  it("a failing flush is a warning with sync's own message, and means no snapshot and no promotion", async () => {
    const before = await world.head();
    const snapshotsBefore = (await world.objects()).snapshots;
    const { simulator } = await world.runner();
    expect((await simulator.prepareJob(jobContainer(PROMOTING))).ok).toBe(true);
    const pvc = (await clonePvc(simulator.state)).metadata?.name ?? '';
    const failing = fakeSync(`echo "sync: error syncing '$2': Input/output error" >&2\nexit 1`);
    expect((await simulator.runScript(failing)).exitCode).toBe(0);
    const cleanup = await simulator.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    const warnings = output(cleanup)
      .split('\n')
      .filter((l) => l.includes('sync -f'));
    // Once, as a warning, with sync's own words.
    expect(warnings).toEqual([
      "::warning::no snapshot is taken and nothing is promoted: `sync -f /CONAN_HOME` exited with 1 in the job container: sync: error syncing '/CONAN_HOME': Input/output error",
    ]);
    expect(output(cleanup)).not.toContain('has no -f');
    expect(await world.head()).toEqual(before);
    const after = await world.objects();
    expect(after.snapshots).toEqual(snapshotsBefore);
    expect(after.pvcs).not.toContain(pvc);
  });

  it('a non-root job user (uid 1001) writes the cache when the runner sets ZFS_CLONE_FS_GROUP', async () => {
    const write = `id -u\necho nonroot > "$CONAN_HOME/p/nonroot.txt"\ncat "$CONAN_HOME/${SEED_FILE}"\n`;
    const { simulator: withGroup, pod } = await world.runner({ runnerEnv: { ZFS_CLONE_FS_GROUP: '1001' } });
    expect((await withGroup.prepareJob(jobContainer({ ZFS_CLONE_SOURCE: 'conan' }, DEBIAN_NONROOT))).ok).toBe(true);
    const jobPod = (withGroup.state as { jobPod: string }).jobPod;
    expect((await world.core.readNamespacedPod({ name: jobPod, namespace: world.ns.name })).spec?.securityContext?.fsGroup).toBe(1001);
    const wrote = await withGroup.runScript(write);
    expect(wrote.exitCode, output(wrote)).toBe(0);
    expect(wrote.stdout).toMatch(/^1001$/m);
    const dir = await world.volumeDir((await clonePvc(withGroup.state)).metadata?.name ?? '');
    expect(existsSync(join(dir, 'p', 'nonroot.txt'))).toBe(true);
    expect((await withGroup.cleanupJob()).ok).toBe(true);
    expect(pod.name).toBeTruthy();

    // Without it the same user cannot write the seed's root-owned folders: the setting is what does it.
    const { simulator: without } = await world.runner();
    expect((await without.prepareJob(jobContainer({ ZFS_CLONE_SOURCE: 'conan' }, DEBIAN_NONROOT))).ok).toBe(true);
    const denied = await without.runScript(write);
    expect(denied.exitCode).not.toBe(0);
    expect(output(denied)).toMatch(/Permission denied/);
    expect((await without.cleanupJob()).ok).toBe(true);
  });
});
