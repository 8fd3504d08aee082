import { describe, expect, it } from 'vitest';
import { STOP_JOB_PROCESSES, type CommandResult, type RunInJob } from '../ops/flush.js';
import { NS, seededCluster } from '../ops/ops.fixtures.js';
import { bindPvcs, FakeKube } from '../ops/fake-kube.fixtures.js';
import { readHead } from '../ops/promote.js';
import { job, mainPush, pvcs, session } from './session.fixtures.js';

describe('CacheSession.prepare', () => {
  it('returns null and creates nothing when no source is set', async () => {
    const fake = seededCluster();
    expect(await session(fake).s.prepare({ HOME: '/github/home' })).toBeNull();
    expect(pvcs(fake)).toEqual([]);
  });

  it('creates a clone of the cache head owned by the runner pod and describes the mount', async () => {
    const fake = seededCluster();
    const prepared = await session(fake).s.prepare({ ZFS_CLONE_SOURCE: 'gcc12' });
    expect(prepared?.volumeMount).toEqual({ name: 'zfs-clone', mountPath: '/CONAN_HOME' });
    expect(prepared?.env).toEqual([{ name: 'CONAN_HOME', value: '/CONAN_HOME' }]);
    const claim = prepared?.volume.persistentVolumeClaim?.claimName ?? '';
    expect(claim).toMatch(/^runner-1-zfs-[0-9a-f]{8}$/);
    const pvc = fake.store.get(`persistentvolumeclaims/${NS}/${claim}`) as { spec: unknown; metadata: { ownerReferences: unknown } };
    expect(pvc.spec).toMatchObject({ storageClassName: 'zfs', resources: { requests: { storage: '2Gi' } } });
    expect(pvc.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: 'runner-1', uid: 'uid-runner-1' }]);
    expect(prepared?.state).toMatchObject({ pvc: claim, snapshot: 'gcc12-g1', cache: { name: 'gcc12', generation: 1 } });
  });

  it('gives each job of a runner pod its own clone PVC', async () => {
    const fake = seededCluster();
    const first = await session(fake).s.prepare({ ZFS_CLONE_SOURCE: 'gcc12' });
    const second = await session(fake).s.prepare({ ZFS_CLONE_SOURCE: 'gcc12' });
    expect(second?.state.pvc).not.toBe(first?.state.pvc);
    expect(pvcs(fake).sort()).toEqual([first?.state.pvc, second?.state.pvc].sort());
  });

  it('fails on bad configuration before any object exists', async () => {
    const fake = seededCluster();
    const before = fake.requests.length;
    await expect(session(fake).s.prepare({ ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_MOUNT_PATH: 'x' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(fake.requests.length).toBe(before);
  });

  it('leaves no PVC behind when provisioning fails', async () => {
    const fake = seededCluster();
    fake.reactors.splice(
      0,
      1,
      bindPvcs(() => 'clone volume size is not matching'),
    );
    await expect(session(fake).s.prepare({ ZFS_CLONE_SOURCE: 'gcc12' })).rejects.toThrow('clone volume size is not matching');
    expect(pvcs(fake)).toEqual([]);
  });
});

/** A `runInJob` that stops processes successfully and records (and answers) the flush commands. */
function recordFlush(flushed: string[][], answer: (c: readonly string[]) => CommandResult = () => ({ exitCode: 0, stderr: '' })): RunInJob {
  return async (c) => {
    if (c === STOP_JOB_PROCESSES) return { exitCode: 0, stderr: '' };
    flushed.push([...c]);
    return answer(c);
  };
}

describe('CacheSession.cleanup', () => {
  it('hands the clone to the job pod once it exists', async () => {
    const fake = seededCluster();
    const { state } = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12' }, 'r1');
    expect(fake.store.get(`persistentvolumeclaims/${NS}/${state.pvc}`)?.metadata?.['ownerReferences']).toEqual([
      { apiVersion: 'v1', kind: 'Pod', name: 'r1-job', uid: 'uid-r1-job' },
    ]);
  });

  it('promotes a successful job and moves the head one generation', async () => {
    const fake = seededCluster();
    const { s, state } = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_PROMOTE: 'true' }, 'r1');
    const flushed: string[][] = [];
    const report = await s.cleanup(state, { succeeded: true, runInJob: recordFlush(flushed) });
    expect(flushed).toEqual([['sync', '-f', '/CONAN_HOME']]);
    expect(report.problems).toEqual([]);
    expect(report.promotion).toEqual({ outcome: 'promoted', generation: 2 });
    expect((await readHead(fake, NS, 'gcc12')).head.snapshot).toBe(report.snapshot);
    expect(pvcs(fake)).toEqual([state.pvc]);
  });

  it('records the mount path, and flushes that file system alone', async () => {
    const fake = seededCluster();
    const { s, state } = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_MOUNT_PATH: '/opt/conan', ZFS_CLONE_SNAPSHOT_BACK: 'always' }, 'r1');
    expect(state.mountPath).toBe('/opt/conan');
    const flushed: string[][] = [];
    await s.cleanup(state, { succeeded: true, runInJob: recordFlush(flushed) });
    expect(flushed).toEqual([['sync', '-f', '/opt/conan']]);
  });

  it('flushes a state written without a mount path with a plain sync', async () => {
    const fake = seededCluster();
    const { s, state } = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_PROMOTE: 'true' }, 'r1');
    const { mountPath: _, ...older } = state;
    const flushed: string[][] = [];
    const report = await s.cleanup(older, { succeeded: true, runInJob: recordFlush(flushed) });
    expect(flushed).toEqual([['sync']]);
    expect(report).toMatchObject({ problems: [], promotion: { outcome: 'promoted' } });
  });

  it('falls back to a plain sync in an image whose sync has no -f, without a warning', async () => {
    const fake = seededCluster();
    const { s, state } = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_PROMOTE: 'true' }, 'r1');
    const flushed: string[][] = [];
    const report = await s.cleanup(state, {
      succeeded: true,
      runInJob: recordFlush(flushed, (c) => (c.length > 1 ? { exitCode: 1, stderr: "sync: invalid option -- 'f'\n" } : { exitCode: 0, stderr: '' })),
    });
    expect(flushed).toEqual([['sync', '-f', '/CONAN_HOME'], ['sync']]);
    expect(report).toMatchObject({ problems: [], promotion: { outcome: 'promoted' } });
  });

  it('takes no snapshot and promotes nothing when the flush fails, and releases the clone', async () => {
    const fake = seededCluster();
    const { s, state, lines } = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_PROMOTE: 'true' }, 'r1');
    const flushed: string[][] = [];
    const report = await s.cleanup(state, {
      succeeded: true,
      runInJob: recordFlush(flushed, () => ({ exitCode: 1, stderr: "sync: error syncing '/CONAN_HOME': Input/output error\n" })),
    });
    expect(flushed).toEqual([['sync', '-f', '/CONAN_HOME']]);
    const said =
      "no snapshot is taken and nothing is promoted: `sync -f /CONAN_HOME` exited with 1 in the job container: sync: error syncing '/CONAN_HOME': Input/output error";
    expect(report.problems).toEqual([said]);
    expect(lines).toContain(`warning: ${said}`);
    expect(report).toMatchObject({ snapshot: undefined, promotion: undefined, released: true });
    expect((await readHead(fake, NS, 'gcc12')).head.generation).toBe(1);
    expect(pvcs(fake)).toEqual([]);
  });

  it("stops the job container's processes before the flush; when they cannot be stopped, no snapshot", async () => {
    const fake = seededCluster();
    const { s, state } = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_SNAPSHOT_BACK: 'always' }, 'r1');
    const ran: string[][] = [];
    const report = await s.cleanup(state, {
      succeeded: true,
      runInJob: async (c) => {
        ran.push([...c]);
        return c === STOP_JOB_PROCESSES ? { exitCode: 3, stderr: 'processes still running after SIGKILL: 42 43\n' } : { exitCode: 0, stderr: '' };
      },
    });
    expect(ran).toEqual([[...STOP_JOB_PROCESSES]]);
    expect(report.problems).toEqual([
      "no snapshot is taken: stopping the job's processes before the snapshot failed (exit 3): processes still running after SIGKILL: 42 43",
    ]);
    expect(report.snapshot).toBeUndefined();
  });

  it('takes no snapshot when the exec that flushes is lost', async () => {
    const fake = seededCluster();
    const { s, state } = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_PROMOTE: 'true' }, 'r1');
    const report = await s.cleanup(state, {
      succeeded: true,
      runInJob: async (c) => {
        if (c === STOP_JOB_PROCESSES) return { exitCode: 0, stderr: '' };
        throw new Error('the exec in pod r1-job timed out after 120 s');
      },
    });
    expect(report.problems).toEqual(['no snapshot is taken and nothing is promoted: the exec in pod r1-job timed out after 120 s']);
    expect(report).toMatchObject({ snapshot: undefined, released: true });
    expect((await readHead(fake, NS, 'gcc12')).head.generation).toBe(1);
  });

  it('does not snapshot or promote a failed job under on-success, and releases its clone', async () => {
    const fake = seededCluster();
    const { s, state } = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_PROMOTE: 'true' }, 'r1');
    const report = await s.cleanup(state, { succeeded: false });
    expect(report).toMatchObject({ snapshot: undefined, released: true });
    expect((await readHead(fake, NS, 'gcc12')).head.generation).toBe(1);
    expect(pvcs(fake)).toEqual([]);
  });

  it('drops the loser of a promotion race', async () => {
    const fake = seededCluster();
    const a = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_PROMOTE: 'true' }, 'ra');
    const b = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_PROMOTE: 'true' }, 'rb');
    expect((await a.s.cleanup(a.state, { succeeded: true })).promotion?.outcome).toBe('promoted');
    const lost = await b.s.cleanup(b.state, { succeeded: true });
    expect(lost).toMatchObject({ promotion: { outcome: 'lost', generation: 2 }, released: true });
    expect(b.lines.join('\n')).toContain('Cache gcc12 moved to generation 2 since this job cloned generation 1; snapshot');
    expect(fake.store.has(`volumesnapshots/${NS}/${lost.snapshot}`)).toBe(false);
  });

  it('keeps a failed clone with an expiry, up to the runner maximum', async () => {
    const fake = seededCluster();
    const runnerEnv = { ...mainPush, ZFS_CLONE_MAX_KEPT_CLONES: '1' };
    const first = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_KEEP_ON_FAILURE: '2h' }, 'r1', runnerEnv);
    const kept = await first.s.cleanup(first.state, { succeeded: false });
    expect(kept.kept).toEqual({ object: `volume/${first.state.pvc}`, until: '2025-06-01T02:00:00.000Z' });
    const meta = fake.store.get(`persistentvolumeclaims/${NS}/${first.state.pvc}`)?.metadata;
    expect(meta?.['ownerReferences']).toBeUndefined();
    expect(meta?.labels?.['zrh.dev/kept']).toBe('true');

    const second = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_KEEP_ON_FAILURE: '2h' }, 'r2', runnerEnv);
    const refused = await second.s.cleanup(second.state, { succeeded: false });
    expect(refused.problems).toEqual(['not keeping the failed clone: 1 clones are kept already (ZFS_CLONE_MAX_KEPT_CLONES=1)']);
    expect(refused.released).toBe(true);
  });

  it("deletes this runner pod's leftover clones when the state was lost", async () => {
    const fake = seededCluster();
    await job(fake, { ZFS_CLONE_SOURCE: 'gcc12' }, 'r1');
    await job(fake, { ZFS_CLONE_SOURCE: 'gcc12' }, 'r2');
    const report = await session(fake, mainPush, 'r1').s.cleanup(null, { succeeded: false });
    expect(report.released).toBe(true);
    expect(pvcs(fake)).toEqual([expect.stringMatching(/^r2-zfs-/)]);
  });

  it('rejects a state it did not write', async () => {
    await expect(session(seededCluster()).s.cleanup({ version: 2 }, { succeeded: true })).rejects.toThrow('The clone state from prepare_job is invalid');
  });
});
