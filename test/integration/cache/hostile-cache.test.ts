/**
 * Jobs that try to reach the cache policy: a pull request asking to promote or to snapshot back,
 * a repository promoting another repository's cache, a state rewritten between hook calls the
 * way a job in volume mode could, gc over a cache whose head is damaged, and more kept snapshots
 * than the runner allows. Each attack fails with a message saying why, and the cache heads, the
 * VolumeSnapshots and the PVCs of the namespace are what they were (bar what the runner allows).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { R } from '@zfs-runner-hooks/kube';
import { waitFor } from '../../cluster/harness.js';
import type { StartedRunner } from '../../simulator/start.js';
import { createCacheWorld, jobContainer, output, REPOSITORY, SNAPSHOTS, type CacheWorld } from './cache-fixtures.js';

/** Cache `conan` records {@link REPOSITORY}; cache `unbound` records nobody; `damaged` gets a broken head. */
const CACHES = ['conan', 'unbound', 'damaged'] as const;
const PULL_REQUEST = { eventName: 'pull_request', ref: 'refs/pull/7/merge' };

describe('hostile jobs and the cache policy', () => {
  let world: CacheWorld;

  beforeAll(async () => {
    world = await createCacheWorld('cache-hostile', 'conan', CACHES);
    for (const cache of ['unbound', 'damaged']) {
      const seeded = await world.cli('seed', cache, '--from-pvc', 'golden');
      expect(seeded.code, seeded.err).toBe(0);
    }
  });
  afterAll(async () => {
    await world?.dispose();
  });

  /** Every cache head ConfigMap of the namespace: name → data and annotations. */
  async function heads(): Promise<Record<string, unknown>> {
    const list = await world.core.listNamespacedConfigMap({ namespace: world.ns.name, labelSelector: 'zrh.dev/role=head' });
    return Object.fromEntries(list.items.map((cm: V1ConfigMap) => [cm.metadata?.name, { data: cm.data, annotations: cm.metadata?.annotations ?? {} }]));
  }

  /** What an attack must not change: heads, snapshots, PVCs, pods. */
  async function snapshotOfNamespace() {
    return { heads: await heads(), ...(await world.objects()) };
  }

  /** Waits until the namespace is back to `before` (the job's own clone and pod are gone). */
  async function unchanged(before: Awaited<ReturnType<typeof snapshotOfNamespace>>): Promise<void> {
    await waitFor('the namespace as it was', snapshotOfNamespace, (now) => JSON.stringify(now) === JSON.stringify(before));
  }

  /** A job of `runner` cloning `env.ZFS_CLONE_SOURCE` that writes to its clone, then cleanup_job. */
  async function attack(runner: StartedRunner, env: Record<string, string>, beforeCleanup?: () => void) {
    const prepared = await runner.simulator.prepareJob(jobContainer(env));
    expect(prepared.ok, output(prepared)).toBe(true);
    const step = await runner.simulator.runScript('echo planted > "$CONAN_HOME/p/planted.txt"\n');
    expect(step.exitCode, output(step)).toBe(0);
    beforeCleanup?.();
    const cleanup = await runner.simulator.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    return { prepared: output(prepared), cleanup: output(cleanup) };
  }

  it('a pull_request job asking to promote is refused with a warning; no head moves, no snapshot stays', async () => {
    const runner = await world.runner({ facts: PULL_REQUEST });
    const before = await snapshotOfNamespace();
    const { prepared } = await attack(runner, { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true' });
    expect(prepared).toContain(
      '::warning::ZFS_CLONE_PROMOTE=true is ignored: event "pull_request" is not in the runner\'s ZFS_CLONE_PROMOTE_EVENTS (push,schedule,workflow_dispatch); the clone is used without promotion.',
    );
    await unchanged(before);
  });

  it('a pull_request job asking to snapshot back is refused with a warning; no snapshot is taken', async () => {
    const runner = await world.runner({ facts: PULL_REQUEST });
    const before = await snapshotOfNamespace();
    const { prepared, cleanup } = await attack(runner, { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_SNAPSHOT_BACK: 'always' });
    expect(prepared).toContain(
      '::warning::ZFS_CLONE_SNAPSHOT_BACK=always is ignored: this job may not promote into its source (event "pull_request" is not in the runner\'s ZFS_CLONE_PROMOTE_EVENTS (push,schedule,workflow_dispatch)) ' +
        "and the runner's ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB is false; no snapshot is taken.",
    );
    expect(cleanup).not.toMatch(/Snapshot \S+ of the clone is ready/);
    await unchanged(before);
  });

  it('a push to main of another repository cannot promote a cache bound to the first, by its head or by the runner', async () => {
    const byHead = await world.runner({ facts: { repository: 'evil-org/b' } });
    const byRunner = await world.runner({
      facts: { repository: 'evil-org/b' },
      runnerEnv: { ZFS_CLONE_CACHE_REPOSITORIES: `conan=${REPOSITORY},unbound=${REPOSITORY}` },
    });
    const before = await snapshotOfNamespace();
    const first = await attack(byHead, { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true', ZFS_CLONE_SNAPSHOT_BACK: 'always' });
    expect(first.prepared).toContain(
      `::warning::ZFS_CLONE_PROMOTE=true is ignored: repository "evil-org/b" may not promote cache "conan": its head (ConfigMap zfs-cache-conan) records zrh.dev/repositories=${REPOSITORY}; the clone is used without promotion.`,
    );
    expect(first.prepared).toContain('::warning::ZFS_CLONE_SNAPSHOT_BACK=always is ignored: this job may not promote into its source and the runner');

    const second = await attack(byRunner, { ZFS_CLONE_SOURCE: 'unbound', ZFS_CLONE_PROMOTE: 'true' });
    expect(second.prepared).toContain(
      `::warning::ZFS_CLONE_PROMOTE=true is ignored: repository "evil-org/b" may not promote cache "unbound": the runner's ZFS_CLONE_CACHE_REPOSITORIES binds it to ${REPOSITORY}; the clone is used without promotion.`,
    );
    await unchanged(before);
  });

  it('by default nobody promotes a cache that no binding names, and the warning says how to bind it', async () => {
    const runner = await world.runner();
    const before = await snapshotOfNamespace();
    const { prepared } = await attack(runner, { ZFS_CLONE_SOURCE: 'unbound', ZFS_CLONE_PROMOTE: 'true' });
    expect(prepared).toContain(
      `::warning::ZFS_CLONE_PROMOTE=true is ignored: cache "unbound" is bound to no repository (the runner's ZFS_CLONE_CACHE_REPOSITORIES does not name it and its head records no zrh.dev/repositories); ` +
        `to let ${REPOSITORY} promote it, add unbound=${REPOSITORY} to the runner's ZFS_CLONE_CACHE_REPOSITORIES`,
    );
    await unchanged(before);
  });

  it('a state rewritten to promote between prepare_job and cleanup_job does not promote', async () => {
    const runner = await world.runner({ facts: PULL_REQUEST });
    const before = await snapshotOfNamespace();
    const { cleanup } = await attack(runner, { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_PROMOTE: 'true' }, () => {
      // What a job in volume mode could write into the response file the runner reads the state from.
      const state = structuredClone(runner.simulator.state) as { clone?: { policy?: Record<string, unknown> } };
      expect(state.clone?.policy).toMatchObject({ promote: false, snapshotBack: 'never' });
      state.clone = { ...state.clone, policy: { ...state.clone?.policy, promote: true, snapshotBack: 'always' } };
      runner.simulator.setState(state);
    });
    // The hook either rejects the rewritten state outright or decides again from its own environment.
    expect(cleanup).toMatch(/was not written by this hook for this job|ZFS_CLONE_PROMOTE=true is ignored: event "pull_request"/);
    expect(cleanup).not.toMatch(/Cache conan now at generation|Snapshot \S+ of the clone is ready/);
    await unchanged(before);
  });

  it('caps the unpromoted snapshots kept per cache: beyond ZFS_CLONE_MAX_KEPT_SNAPSHOTS a job takes none and says so', async () => {
    const candidates = async () =>
      (await world.custom.listNamespacedCustomObject({
        ...SNAPSHOTS,
        namespace: world.ns.name,
        labelSelector: 'zrh.dev/role=candidate,zrh.dev/cache=conan',
      })) as { items: unknown[] };
    const kept = (await candidates()).items.length;
    const cap = { ZFS_CLONE_MAX_KEPT_SNAPSHOTS: String(kept + 1) };
    const headsBefore = await heads();

    const first = await attack(await world.runner({ runnerEnv: cap }), { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_SNAPSHOT_BACK: 'always' });
    expect(first.cleanup).toMatch(/Snapshot \S+ kept until \S+; promote it with: zfs-clone promote conan \S+/);
    expect((await candidates()).items).toHaveLength(kept + 1);

    const runner = await world.runner({ runnerEnv: cap });
    const before = await snapshotOfNamespace();
    const second = await attack(runner, { ZFS_CLONE_SOURCE: 'conan', ZFS_CLONE_SNAPSHOT_BACK: 'always' });
    expect(second.cleanup).toContain(
      `::warning::not taking a snapshot: ${kept + 1} unpromoted snapshots of cache conan are kept already (ZFS_CLONE_MAX_KEPT_SNAPSHOTS=${kept + 1})`,
    );
    await unchanged(before);
    expect(await heads()).toEqual(headsBefore);
  });

  it('gc deletes nothing while a cache head is damaged: neither the CLI nor gc at the end of cleanup_job', async () => {
    // Garbage gc would delete: a kept snapshot of `damaged` whose time is up.
    const runner = await world.runner({ runnerEnv: { ZFS_CLONE_CACHE_REPOSITORIES: `damaged=${REPOSITORY}`, ZFS_CLONE_GC_ON_CLEANUP: 'false' } });
    const kept = await attack(runner, { ZFS_CLONE_SOURCE: 'damaged', ZFS_CLONE_SNAPSHOT_BACK: 'always' });
    const garbage = /Snapshot (\S+) kept until/.exec(kept.cleanup)?.[1] ?? '';
    expect(garbage).not.toBe('');
    await world.kube.patch(
      { type: R.volumeSnapshots, namespace: world.ns.name, name: garbage },
      { metadata: { annotations: { 'zrh.dev/expires-at': '2020-01-01T00:00:00Z' } } },
      'merge',
    );
    expect((await world.cli('gc', 'damaged', '--dry-run', '--grace', '0')).out).toContain(`snapshot/${garbage}`);

    // The head of `damaged` stops parsing (an operator's bad edit, a truncated write).
    const cm = await world.core.readNamespacedConfigMap({ name: 'zfs-cache-damaged', namespace: world.ns.name });
    await world.core.replaceNamespacedConfigMap({
      name: 'zfs-cache-damaged',
      namespace: world.ns.name,
      body: { ...cm, data: { ...cm.data, history: '[{"generation":' } },
    });
    const before = await snapshotOfNamespace();
    for (const argv of [
      ['gc', '--grace', '0'],
      ['gc', 'damaged', '--grace', '0'],
    ]) {
      const gc = await world.cli(...argv);
      expect(gc.code, gc.err).toBe(1);
      expect(gc.err).toMatch(
        /^error: gc refused to run in namespace "cache-hostile-[0-9a-f]+", nothing was deleted: cache "damaged": ConfigMap "zfs-cache-damaged" is not a valid cache head: data\.history: not a JSON history list/,
      );
    }
    expect(await snapshotOfNamespace()).toEqual(before);

    // gc at the end of a job of that cache: the job prepared before the damage, a failed step keeps its clone.
    const job = await world.runner({ runnerEnv: { ZFS_CLONE_CACHE_REPOSITORIES: `damaged=${REPOSITORY}` } });
    await world.core.replaceNamespacedConfigMap({
      name: 'zfs-cache-damaged',
      namespace: world.ns.name,
      body: { ...cm, metadata: { ...cm.metadata, resourceVersion: undefined } },
    });
    const prepared = await job.simulator.prepareJob(jobContainer({ ZFS_CLONE_SOURCE: 'damaged', ZFS_CLONE_KEEP_ON_FAILURE: '1h' }));
    expect(prepared.ok, output(prepared)).toBe(true);
    expect((await job.simulator.runScript('exit 4\n')).exitCode).toBe(4);
    const fresh = await world.core.readNamespacedConfigMap({ name: 'zfs-cache-damaged', namespace: world.ns.name });
    await world.core.replaceNamespacedConfigMap({
      name: 'zfs-cache-damaged',
      namespace: world.ns.name,
      body: { ...fresh, data: { ...fresh.data, history: '[{"generation":' } },
    });
    const cleanup = await job.simulator.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    expect(output(cleanup)).toMatch(
      /::warning::gc failed: gc refused to run in namespace "[^"]+", nothing was deleted: cache "damaged": ConfigMap "zfs-cache-damaged" is not a valid cache head/,
    );
    const after = await snapshotOfNamespace();
    expect(after.heads).toEqual(before.heads);
    expect(after.snapshots).toEqual(before.snapshots);
    expect(after.snapshots).toContain(garbage);
  });
});
