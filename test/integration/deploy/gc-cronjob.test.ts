/**
 * The scheduled gc of deploy/cache/gc-cronjob.yaml, run for real: the local cluster has no image
 * registry, so the CronJob's pod itself is not run. Its command is: the bundled `zfs-clone` CLI as
 * a process, with the CronJob's own arguments, under a kubeconfig of the CronJob's ServiceAccount
 * bound to exactly the Role of that file, against a namespace with two seeded caches, old
 * generations, kept clones and snapshots, some of them expired. Only `--grace` is changed (to 0):
 * the test's objects are seconds old, and the CronJob's grace would keep them all.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions, type V1CronJob, type V1Role } from '@kubernetes/client-node';
import { createCacheSession, readHead, silentLogger, type CloneState } from '@zfs-runner-hooks/zfs-clone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAccountKubeConfig, waitFor } from '../../cluster/harness.js';
import { readYamlDocs } from '../../unit/deploy/deploy-files.js';
import { createZfsCloneSuite, mainPush, type ZfsCloneSuite } from '../zfs-clone/suite.js';
import { ensureZfsCloneBundle, ZFS_CLONE_BUNDLE } from './zfs-clone-bundle.js';

const docs = readYamlDocs('deploy/cache/gc-cronjob.yaml') as { kind: string }[];
const cronJob = docs.find((d) => d.kind === 'CronJob') as V1CronJob;
const gcRole = docs.find((d) => d.kind === 'Role') as V1Role;
const container = cronJob.spec?.jobTemplate.spec?.template.spec?.containers[0];
const serviceAccount = cronJob.spec?.jobTemplate.spec?.template.spec?.serviceAccountName ?? '';
const cronArgs = container?.args ?? [];
const KEEP = Number(cronArgs[cronArgs.indexOf('--keep') + 1]);
const snapshotApi = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshots' } as const;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const runnerEnv = { ...mainPush, ZFS_CLONE_CACHE_REPOSITORIES: 'conan=acme/app,other=acme/app' };

describe("the gc CronJob's command, under its own Role, on a namespace with two caches", () => {
  let s: ZfsCloneSuite;
  let dir: string;
  let kubeconfig: string;

  beforeAll(async () => {
    ensureZfsCloneBundle();
    s = await createZfsCloneSuite('gc-cron');
    const golden = await s.volumeDir('golden');
    mkdirSync(join(golden, 'p'), { recursive: true });
    writeFileSync(join(golden, 'p', 'zlib.txt'), 'zlib/1.3 from the seed\n');
    dir = mkdtempSync(join(tmpdir(), 'gc-cron-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, (await serviceAccountKubeConfig(s.ns.name, gcRole, serviceAccount)).exportConfig(), { mode: 0o600 });
  });
  afterAll(async () => {
    await s?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One job of `cache` on a stand-in runner and job pod; `end` says how it ends (or `live`: not yet). */
  async function job(runner: string, cache: string, env: Record<string, string>, end: 'success' | 'failure' | 'live'): Promise<CloneState> {
    const session = createCacheSession({ kube: s.kube, namespace: s.ns.name, runnerPod: await s.pod(runner), runnerEnv, logger: silentLogger });
    const prepared = await session.prepare({ ZFS_CLONE_SOURCE: cache, ...env });
    if (!prepared) throw new Error('expected a clone');
    const state = await session.onPodCreated(prepared.state, await s.pod(`${runner}-job`));
    if (end === 'live') return state;
    await session.cleanup(state, { succeeded: end === 'success' });
    await s.core.deleteNamespacedPod({ name: `${runner}-job`, namespace: s.ns.name, gracePeriodSeconds: 0 });
    return state;
  }

  /** Sets `zrh.dev/expires-at` an hour back on an object that has one, as if its keep time had passed. */
  async function expire(kind: 'pvc' | 'snapshot', name: string): Promise<void> {
    const body = { metadata: { annotations: { 'zrh.dev/expires-at': new Date(Date.now() - 3_600_000).toISOString() } } };
    if (kind === 'pvc') await s.core.patchNamespacedPersistentVolumeClaim({ name, namespace: s.ns.name, body }, mergePatch);
    else await s.custom.patchNamespacedCustomObject({ ...snapshotApi, namespace: s.ns.name, name, body }, mergePatch);
  }

  async function inventory(): Promise<string[]> {
    const pvcs = await s.core.listNamespacedPersistentVolumeClaim({ namespace: s.ns.name });
    const snapshots = (await s.custom.listNamespacedCustomObject({ ...snapshotApi, namespace: s.ns.name })) as { items: { metadata: { name: string } }[] };
    return [...pvcs.items.map((p) => `volume/${p.metadata?.name ?? ''}`), ...snapshots.items.map((x) => `snapshot/${x.metadata.name}`)].sort();
  }

  it(`deletes the generations older than --keep ${KEEP}, expired kept clones and snapshots of every cache, and nothing else`, async () => {
    expect(KEEP).toBeGreaterThanOrEqual(1);
    expect((await s.cli('seed', 'conan', '--from-pvc', 'golden')).code).toBe(0);
    expect((await s.cli('seed', 'other', '--from-pvc', 'golden')).code).toBe(0);
    const conanSeed = (await readHead(s.kube, s.ns.name, 'conan')).head.snapshot;
    const otherSeed = (await readHead(s.kube, s.ns.name, 'other')).head.snapshot;

    // Generations 2 … KEEP+2 of conan, each a clone of the one before; volumes[g] made generation g.
    const volumes = new Map<number, string>();
    for (let g = 2; g <= KEEP + 2; g++) volumes.set(g, (await job(`gen-${g}`, 'conan', { ZFS_CLONE_PROMOTE: 'true' }, 'success')).pvc);
    const conan = (await readHead(s.kube, s.ns.name, 'conan')).head;
    expect(conan.generation).toBe(KEEP + 2);
    const snapshotOf = (g: number) => conan.history.find((e) => e.generation === g)?.snapshot ?? '';

    // Failed jobs whose clones are kept (one will have expired), a job still running, and in
    // cache other an unpromoted snapshot taken back (expired too).
    const expiredClone = (await job('failed-1', 'conan', { ZFS_CLONE_KEEP_ON_FAILURE: 'true' }, 'failure')).pvc;
    const keptClone = (await job('failed-2', 'conan', { ZFS_CLONE_KEEP_ON_FAILURE: 'true' }, 'failure')).pvc;
    const liveClone = (await job('running', 'conan', {}, 'live')).pvc;
    const candidate = await job('other-1', 'other', { ZFS_CLONE_SNAPSHOT_BACK: 'always' }, 'success');
    const candidateSnapshot = (await inventory()).find((o) => o.startsWith('snapshot/') && o.includes('other-1'))?.slice('snapshot/'.length) ?? '';
    expect(candidateSnapshot).not.toBe('');

    await expire('pvc', expiredClone);
    await expire('snapshot', candidateSnapshot);
    // As gc marks a volume once the driver's ZFSPromote is Done: the oldest kept generation's
    // volume no longer depends on the generation it was cloned from (host-path clones are copies).
    await s.core.patchNamespacedPersistentVolumeClaim(
      { name: volumes.get(3) ?? '', namespace: s.ns.name, body: { metadata: { annotations: { 'zrh.dev/detached': 'true' } } } },
      mergePatch,
    );

    const before = await inventory();
    const expected = new Map<string, string>([
      [`snapshot/${snapshotOf(2)}`, 'conan'],
      [`volume/${volumes.get(2) ?? ''}`, 'conan'],
      [`snapshot/${conanSeed}`, 'conan'],
      [`volume/${expiredClone}`, 'conan'],
      [`snapshot/${candidateSnapshot}`, 'other'],
      [`volume/${candidate.pvc}`, 'other'],
    ]);
    for (const object of expected.keys()) expect(before).toContain(object);

    const args = cronArgs.map((a, i) => (cronArgs[i - 1] === '--grace' ? '0' : a));
    const run = spawnSync(process.execPath, [ZFS_CLONE_BUNDLE, ...args], {
      env: { PATH: process.env['PATH'], HOME: dir, KUBECONFIG: kubeconfig },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    // Without rights on the driver's ZFSPromote (the optional part of the Role) gc says so once.
    expect(run.stderr).toBe(
      'warning: not allowed to list zfspromotes.zfs.openebs.io in namespace "openebs", so gc requests no ZFSPromote (grant get, list and create on it there if the driver offers it)\n',
    );
    const [header, ...rows] = run.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^OBJECT +CACHE +ACTION +REASON$/);
    const table = new Map(rows.map((r) => r.split(/ {2,}/)).map(([object, cache, action, reason]) => [object ?? '', { cache, action, reason }]));
    expect([...table.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [object, cache] of expected) expect(table.get(object), object).toMatchObject({ cache, action: 'deleted' });
    expect(table.get(`snapshot/${snapshotOf(2)}`)?.reason).toBe('generation 2 is older than the generations kept');
    expect(table.get(`snapshot/${conanSeed}`)?.reason).toBe('generation 1 is older than the generations kept');
    expect(table.get(`volume/${expiredClone}`)?.reason).toMatch(/^expired at \d{4}-/);
    expect(table.get(`snapshot/${candidateSnapshot}`)?.reason).toMatch(/^expired at \d{4}-/);

    // In the cluster: exactly those are gone (once the controllers' finalizers let them go).
    const after = await waitFor('the deleted objects gone', inventory, (objects) => [...expected.keys()].every((o) => !objects.includes(o)), {
      timeoutMs: 120_000,
    });
    expect(after).toEqual(before.filter((o) => !expected.has(o)));
    for (let g = 3; g <= KEEP + 2; g++) {
      expect(after).toContain(`snapshot/${snapshotOf(g)}`);
      expect(after).toContain(`volume/${volumes.get(g) ?? ''}`);
    }
    expect(after).toEqual(expect.arrayContaining([`volume/${keptClone}`, `volume/${liveClone}`, 'volume/golden', `snapshot/${otherSeed}`]));
    expect((await readHead(s.kube, s.ns.name, 'conan')).head).toEqual(conan);
    expect((await readHead(s.kube, s.ns.name, 'other')).head.snapshot).toBe(otherSeed);

    // A second run finds nothing more to do.
    const again = spawnSync(process.execPath, [ZFS_CLONE_BUNDLE, ...args], {
      env: { PATH: process.env['PATH'], HOME: dir, KUBECONFIG: kubeconfig },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect({ code: again.status, out: again.stdout }).toEqual({ code: 0, out: 'Nothing to delete.\n' });
  });
});
