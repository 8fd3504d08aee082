/**
 * What cleanup_job does before it snapshots a job's clone, on the real node: it stops the job
 * container's left-over processes (a build still writing would put half-written files into the
 * cache) and flushes the clone; when either fails, nothing is snapshotted or promoted (a failing
 * `sync`: jobs.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCacheWorld, jobContainer, output, type CacheWorld } from './cache-fixtures.js';

const PROMOTING = { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true' };

describe('cleanup_job quiesces the job container before the snapshot', () => {
  let world: CacheWorld;

  beforeAll(async () => {
    world = await createCacheWorld('cache-quiesce');
  });
  afterAll(async () => {
    await world?.dispose();
  });

  it('stops a background writer (SIGTERM) and one that ignores SIGTERM (SIGKILL) before the snapshot that is promoted', async () => {
    const before = await world.head();
    const { simulator: job } = await world.runner();
    expect((await job.prepareJob(jobContainer(PROMOTING))).ok).toBe(true);
    // Two processes outlive the step: a writer that records SIGTERM in the clone, and one that ignores it.
    const step = await job.runScript(
      [
        'mkdir -p "$CONAN_HOME/p"',
        `nohup sh -c 'trap "echo stopped > $CONAN_HOME/p/stopped.txt; exit 0" TERM; while :; do echo x >> $CONAN_HOME/p/writing.log; sleep 0.05; done' >/dev/null 2>&1 &`,
        `nohup sh -c 'trap "" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1 &`,
        'sleep 0.3',
        'test -s "$CONAN_HOME/p/writing.log"',
        '',
      ].join('\n'),
    );
    expect(step.exitCode, output(step)).toBe(0);

    const cleanup = await job.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    expect(output(cleanup)).toMatch(/Cache conan now at generation \d+ \(/);
    expect(output(cleanup)).not.toMatch(/no snapshot is taken/);
    expect((await world.head()).generation).toBe(before.generation + 1);

    // The new generation holds what the writer wrote when it was told to stop.
    const { simulator: next } = await world.runner();
    expect((await next.prepareJob(jobContainer({ ZFS_CLONE_SOURCE: 'conan' }))).ok).toBe(true);
    const read = await next.runScript('cat "$CONAN_HOME/p/stopped.txt"\nwc -l < "$CONAN_HOME/p/writing.log"\n');
    expect(read.exitCode, output(read)).toBe(0);
    expect(read.stdout).toContain('stopped');
    expect((await next.cleanupJob()).ok).toBe(true);
  });

  it("a job whose sync hangs gets no snapshot once the runner's ZFS_CLONE_TIMEOUT_SECONDS passes, and cleanup_job ends", async () => {
    const before = await world.head();
    const snapshotsBefore = (await world.objects()).snapshots;
    const { simulator: job } = await world.runner({ runnerEnv: { ZFS_CLONE_TIMEOUT_SECONDS: '5' } });
    expect((await job.prepareJob(jobContainer(PROMOTING))).ok).toBe(true);
    const step = await job.runScript(`printf '#!/bin/sh\\nsleep 3600\\n' > "$(command -v sync)"\n`);
    expect(step.exitCode, output(step)).toBe(0);

    const cleanup = await job.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    expect(output(cleanup)).toMatch(/no snapshot is taken and nothing is promoted: .*\bsync\b.* 5 s/);
    expect(await world.head()).toEqual(before);
    expect((await world.objects()).snapshots).toEqual(snapshotsBefore);
  });
});
