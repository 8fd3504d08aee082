import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { type KubeClient } from '@zfs-runner-hooks/kube';
import { createCacheSession, gc, readHead, readLineage, silentLogger, type CloneState } from '@zfs-runner-hooks/zfs-clone';
import { createZfsCloneSuite, mainPush, type ZfsCloneSuite } from './suite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, waitFor, type TestNamespace } from '../../cluster/harness.js';

const snapshotApi = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshots' } as const;

describe('zfs-clone caches on the local cluster (host-path CSI copies where ZFS would clone)', () => {
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const custom = admin.makeApiClient(CustomObjectsApi);
  let ns: TestNamespace;
  let kube: KubeClient;
  let s: ZfsCloneSuite;
  const volumeDir = (pvc: string) => s.volumeDir(pvc);
  const pod = (name: string) => s.pod(name);
  const cli = (...argv: string[]) => s.cli(...argv);

  beforeAll(async () => {
    s = await createZfsCloneSuite('zc');
    ({ ns, kube } = s);
    const dir = await s.volumeDir('golden');
    mkdirSync(join(dir, 'p'), { recursive: true });
    writeFileSync(join(dir, 'p', 'zlib.txt'), 'zlib/1.3 from the seed\n');
  });
  afterAll(async () => {
    await s?.close();
  });

  /** One job: runner pod, prepare, job pod, then cleanup with `succeeded`. */
  async function startJob(runner: string, env: Record<string, string>, runnerEnv: Record<string, string> = mainPush) {
    const runnerPod = await pod(runner);
    const session = createCacheSession({ kube, namespace: ns.name, runnerPod, runnerEnv, logger: silentLogger });
    const prepared = await session.prepare(env);
    if (!prepared) throw new Error('expected a clone');
    const jobPod = await pod(`${runner}-job`);
    const state: CloneState = await session.onPodCreated(prepared.state, jobPod);
    return { session, prepared, state, dir: await volumeDir(state.pvc) };
  }

  async function pvcNames(): Promise<string[]> {
    const list = await core.listNamespacedPersistentVolumeClaim({ namespace: ns.name });
    return list.items
      .map((p: V1PersistentVolumeClaim) => p.metadata?.name ?? '')
      .filter((n) => n !== 'golden')
      .sort();
  }

  it('seeds a cache from a PVC with the CLI', async () => {
    const seeded = await cli('seed', 'conan', '--from-pvc', 'golden');
    expect(seeded).toMatchObject({ code: 0, out: expect.stringMatching(/^cache\/conan seeded: generation 1 -> conan-seed-/) });
    expect((await cli('list')).out).toMatch(/^CACHE +GENERATION +HEAD +READY +SIZE.*\nconan +1 +conan-seed-[0-9a-f]{8} +true +10Mi /);
  });

  it("job 1 clones the head, writes, promotes; job 2 sees job 1's data", async () => {
    const job1 = await startJob('runner-1', { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true' });
    expect(readFileSync(join(job1.dir, 'p', 'zlib.txt'), 'utf8')).toBe('zlib/1.3 from the seed\n');
    writeFileSync(join(job1.dir, 'p', 'fmt.txt'), 'fmt/10 built by job 1\n');
    const report = await job1.session.cleanup(job1.state, { succeeded: true, runInJob: async () => ({ exitCode: 0, stderr: '' }) });
    expect(report.promotion).toEqual({ outcome: 'promoted', generation: 2 });
    await core.deleteNamespacedPod({ name: 'runner-1-job', namespace: ns.name });

    const job2 = await startJob('runner-2', { ZFS_CLONE_SOURCE: 'conan' });
    expect(job2.state.cache).toEqual({ name: 'conan', generation: 2 });
    expect(readFileSync(join(job2.dir, 'p', 'fmt.txt'), 'utf8')).toBe('fmt/10 built by job 1\n');
    await job2.session.cleanup(job2.state, { succeeded: true });
  });

  it('does not promote a failed job under on-success, nor a pull_request job', async () => {
    const before = (await readHead(kube, ns.name, 'conan')).head;
    const failed = await startJob('runner-3', { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true' });
    expect((await failed.session.cleanup(failed.state, { succeeded: false })).snapshot).toBeUndefined();
    const pr = await startJob(
      'runner-4',
      { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true' },
      { ...mainPush, GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/1/merge' },
    );
    expect(pr.state.policy.promote).toBe(false);
    expect((await pr.session.cleanup(pr.state, { succeeded: true })).promotion).toBeUndefined();
    expect((await readHead(kube, ns.name, 'conan')).head).toEqual(before);
  });

  it("decides cleanup again from the hook's environment: a clone state forged to promote, or naming the seed, is not acted on", async () => {
    const before = (await readHead(kube, ns.name, 'conan')).head;
    const snapshotsBefore = (await readLineage(kube, ns.name)).graph.snapshots.map((x) => x.name).sort();
    const pullRequest = { ...mainPush, GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/2/merge' };
    // Below the hook's sealed state: the library alone, given a state rewritten to promote.
    const pr = await startJob('runner-forge', { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true' }, pullRequest);
    expect(pr.state.policy).toMatchObject({ promote: false, snapshotBack: 'never' });
    const forged: CloneState = { ...pr.state, policy: { ...pr.state.policy, promote: true, snapshotBack: 'always' } };
    const report = await pr.session.cleanup(forged, { succeeded: true });
    expect(report).toMatchObject({ snapshot: undefined, promotion: undefined, released: true });

    const push = await startJob('runner-forge2', { ZFS_CLONE_SOURCE: 'conan' });
    const seedTarget = await push.session.cleanup(
      { ...push.state, pvc: 'golden', policy: { ...push.state.policy, promote: true, snapshotBack: 'always' } },
      { succeeded: true },
    );
    expect(seedTarget.problems).toEqual([
      expect.stringMatching(/^The clone state does not describe this runner's clone \(PVC "golden" is not a clone made by the hook\)/),
    ]);
    expect((await core.readNamespacedPersistentVolumeClaim({ name: 'golden', namespace: ns.name })).metadata?.deletionTimestamp).toBeUndefined();

    expect((await readHead(kube, ns.name, 'conan')).head).toEqual(before);
    expect((await readLineage(kube, ns.name)).graph.snapshots.map((x) => x.name).sort()).toEqual(snapshotsBefore);
    await waitFor('both clones released', pvcNames, (names) => !names.includes(pr.state.pvc) && !names.includes(push.state.pvc));
  });

  it('lets exactly one of 10 concurrent jobs from the same parent promote, fast-forward to a ready snapshot', async () => {
    const before = (await readHead(kube, ns.name, 'conan')).head;
    const jobs = await Promise.all(Array.from({ length: 10 }, (_, i) => startJob(`race-${i}`, { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true' })));
    for (const [i, j] of jobs.entries()) writeFileSync(join(j.dir, 'winner.txt'), `race-${i}\n`);
    const reports = await Promise.all(jobs.map((j) => j.session.cleanup(j.state, { succeeded: true })));
    const winners = reports.filter((r) => r.promotion?.outcome === 'promoted');
    expect(winners).toHaveLength(1);
    expect(reports.filter((r) => r.promotion?.outcome === 'lost')).toHaveLength(9);
    const { head } = await readHead(kube, ns.name, 'conan');
    expect(head.generation).toBe(before.generation + 1);
    expect(head.history[1]).toMatchObject({ generation: before.generation, snapshot: before.snapshot });
    expect(head.snapshot).toBe(winners[0]?.snapshot);
    const snap = (await custom.getNamespacedCustomObject({ ...snapshotApi, namespace: ns.name, name: head.snapshot })) as { status?: { readyToUse?: boolean } };
    expect(snap.status?.readyToUse).toBe(true);
    // The losers' snapshots and clones go (deletion passes the snapshot controller's finalizers);
    // the winner's clone backs the new head.
    const raceSnapshots = async () => (await readLineage(kube, ns.name)).graph.snapshots.filter((s) => s.name.startsWith('race-')).map((s) => s.name);
    await waitFor('loser snapshots deleted', raceSnapshots, (names) => names.length === 1);
    expect(await raceSnapshots()).toEqual([head.snapshot]);
    await waitFor('loser clones deleted', pvcNames, (names) => names.filter((n) => n.startsWith('race-')).length === 1);
  });

  it('refuses sources outside the allow-list, missing or not-ready snapshots and unknown classes, leaving nothing', async () => {
    const before = await pvcNames();
    const runnerPod = await pod('runner-bad');
    const session = createCacheSession({
      kube,
      namespace: ns.name,
      runnerPod,
      runnerEnv: { ...mainPush, ZFS_CLONE_ALLOWED_SOURCES: 'cache:*,snapshot:*' },
      logger: silentLogger,
    });
    const strict = createCacheSession({ kube, namespace: ns.name, runnerPod, runnerEnv: mainPush, logger: silentLogger });
    await expect(strict.prepare({ ZFS_CLONE_SOURCE: 'snapshot:anything' })).rejects.toThrow(
      "is not allowed by the runner's ZFS_CLONE_ALLOWED_SOURCES (cache:*)",
    );
    await expect(session.prepare({ ZFS_CLONE_SOURCE: 'snapshot:missing' })).rejects.toThrow(
      `VolumeSnapshot "missing" does not exist in namespace "${ns.name}"`,
    );
    await custom.createNamespacedCustomObject({
      ...snapshotApi,
      namespace: ns.name,
      body: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'never-ready' },
        spec: { volumeSnapshotClassName: 'csi-hostpath-snapclass', source: { persistentVolumeClaimName: 'no-such-pvc' } },
      },
    });
    await expect(session.prepare({ ZFS_CLONE_SOURCE: 'snapshot:never-ready' })).rejects.toThrow('is not ready (readyToUse=false)');
    await expect(session.prepare({ ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_STORAGE_CLASS: 'no-such-class' })).rejects.toThrow(
      /cannot be provisioned: .*no-such-class.*not found/,
    );
    await waitFor('no PVC left behind', pvcNames, (names) => names.join() === before.join());
  });

  it('cleans up after a hook killed mid-prepare and mid-cleanup; gc keeps what clones depend on', async () => {
    // Killed after creating the clone, before writing state: cleanup without state removes it.
    const crashed = await startJob('runner-crash', { ZFS_CLONE_SOURCE: 'conan' });
    const again = createCacheSession({ kube, namespace: ns.name, runnerPod: { name: 'runner-crash', uid: 'x' }, runnerEnv: mainPush, logger: silentLogger });
    await again.cleanup(null, { succeeded: false });
    await waitFor('crashed clone deleted', pvcNames, (names) => !names.includes(crashed.state.pvc));

    // A live clone of the current head, and gc keeping one generation: nothing it needs goes.
    const live = await startJob('runner-live', { ZFS_CLONE_SOURCE: 'conan' });
    const headBefore = (await readHead(kube, ns.name, 'conan')).head;
    const result = await gc(kube, { namespace: ns.name, policy: { keepGenerations: 1, graceSeconds: 0, caches: ['conan'] }, now: Date.now() + 2 * 86_400_000 });
    expect(result.failed).toEqual([]);
    const lineage = await readLineage(kube, ns.name);
    const names = new Set([...lineage.graph.snapshots.map((s) => `snapshot/${s.name}`), ...lineage.graph.volumes.map((v) => `volume/${v.name}`)]);
    expect(names.has(`snapshot/${headBefore.snapshot}`)).toBe(true);
    expect(names.has(`volume/${live.state.pvc}`)).toBe(true);
    for (const v of lineage.graph.volumes) if (v.origin) expect(names.has(`snapshot/${v.origin}`), `origin of ${v.name}`).toBe(true);
    for (const s of lineage.graph.snapshots) if (s.source && s.managed) expect(names.has(`volume/${s.source}`), `source of ${s.name}`).toBe(true);
    expect((await readHead(kube, ns.name, 'conan')).head).toEqual(headBefore);
    expect(existsSync(join(live.dir, 'p', 'fmt.txt'))).toBe(true);
  });
});
