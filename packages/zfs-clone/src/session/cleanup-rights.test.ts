import { describe, expect, it } from 'vitest';
import type { KubeClient, ResourceRef } from '@zfs-runner-hooks/kube';
import { gc } from '../ops/gc.js';
import { NS, seededCluster } from '../ops/ops.fixtures.js';
import { readHead } from '../ops/promote.js';
import type { CloneState } from './state.js';
import { job, mainPush, pvcs, snapshots } from './session.fixtures.js';

const pullRequest = { ...mainPush, GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/7/merge' };
const PROMOTING = { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_PROMOTE: 'true' };

/** The state with its policy rewritten, as a job that reached the response file could. */
const forged = (state: CloneState, policy: Partial<CloneState['policy']>, more: Partial<CloneState> = {}): CloneState => ({
  ...state,
  ...more,
  policy: { ...state.policy, ...policy },
});

describe("cleanup decides again from the hook's environment, not from the state", () => {
  it("prepare_job refuses a pull request's promotion and snapshot back with a warning, and records no wish", async () => {
    const fake = seededCluster();
    const { state, lines } = await job(fake, { ...PROMOTING, ZFS_CLONE_SNAPSHOT_BACK: 'always' }, 'r1', pullRequest);
    expect(state.policy).toMatchObject({ promote: false, snapshotBack: 'never' });
    expect(lines.filter((l) => l.startsWith('warning:'))).toEqual([
      expect.stringMatching(/^warning: ZFS_CLONE_PROMOTE=true is ignored: event "pull_request" is not in the runner's ZFS_CLONE_PROMOTE_EVENTS/),
      expect.stringMatching(
        /^warning: ZFS_CLONE_SNAPSHOT_BACK=always is ignored: this job may not promote into its source and the runner's ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB is false; no snapshot is taken\.$/,
      ),
    ]);
  });

  it('a pull request whose state was forged to promote takes no snapshot and moves no head', async () => {
    const fake = seededCluster();
    const { s, state, lines } = await job(fake, PROMOTING, 'r1', pullRequest);
    const report = await s.cleanup(forged(state, { promote: true, snapshotBack: 'always' }), { succeeded: true });
    expect(report).toMatchObject({ snapshot: undefined, promotion: undefined, released: true });
    expect(lines).toContain(
      'warning: ZFS_CLONE_PROMOTE=true is ignored: event "pull_request" is not in the runner\'s ZFS_CLONE_PROMOTE_EVENTS (push,schedule,workflow_dispatch); the clone is used without promotion.',
    );
    expect((await readHead(fake, NS, 'gcc12')).head.generation).toBe(1);
    expect(snapshots(fake)).toEqual([]);
    expect(pvcs(fake)).toEqual([]);
  });

  it("a state forged to promote another repository's cache does not promote it", async () => {
    const fake = seededCluster();
    const other = { ...mainPush, GITHUB_REPOSITORY: 'evil/b' };
    const { s, state } = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12' }, 'r1', other);
    const report = await s.cleanup(forged(state, { promote: true, snapshotBack: 'on-success' }), { succeeded: true });
    expect(report.promotion).toBeUndefined();
    expect(report.snapshot).toBeUndefined();
    expect((await readHead(fake, NS, 'gcc12')).head.generation).toBe(1);
    expect(snapshots(fake)).toEqual([]);
  });

  it("a state that names another PVC (the seed) is not acted on: only this runner pod's own clone is released", async () => {
    const fake = seededCluster();
    const { s, state } = await job(fake, PROMOTING, 'r1');
    const report = await s.cleanup(forged(state, {}, { pvc: 'golden' }), { succeeded: true });
    expect(report.problems).toEqual([
      expect.stringMatching(
        /^The clone state does not describe this runner's clone \(PVC "golden" is not a clone made by the hook\); nothing is snapshotted, promoted or kept/,
      ),
    ]);
    expect(fake.store.has(`persistentvolumeclaims/${NS}/golden`)).toBe(true);
    expect(snapshots(fake)).toEqual([]);
    expect((await readHead(fake, NS, 'gcc12')).head.generation).toBe(1);
    // The job's real clone is owned by its pod; without a snapshot owner it is this runner's leftover.
    expect(pvcs(fake)).toEqual([]);
  });

  it('a state that claims another cache generation is not acted on', async () => {
    const fake = seededCluster();
    const { s, state } = await job(fake, PROMOTING, 'r1');
    const report = await s.cleanup(forged(state, {}, { cache: { name: 'gcc12', generation: 7 } }), { succeeded: true });
    expect(report.problems[0]).toContain(`PVC "${state.pvc}" is a clone of generation 1, the state says 7`);
    expect((await readHead(fake, NS, 'gcc12')).head.generation).toBe(1);
  });

  it('lets the runner allow snapshots back from jobs that may not promote', async () => {
    const fake = seededCluster();
    const allowing = { ...pullRequest, ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB: 'true' };
    const { s, state } = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_SNAPSHOT_BACK: 'always' }, 'r1', allowing);
    const report = await s.cleanup(state, { succeeded: true });
    expect(report.kept?.object).toBe(`snapshot/${report.snapshot}`);
    expect(report.promotion).toBeUndefined();
  });
});

describe('kept snapshots', () => {
  const keeping = { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_SNAPSHOT_BACK: 'always' };

  it('are capped per cache: beyond ZFS_CLONE_MAX_KEPT_SNAPSHOTS a job takes no snapshot and says so', async () => {
    const fake = seededCluster();
    const capped = { ...mainPush, ZFS_CLONE_MAX_KEPT_SNAPSHOTS: '1', ZFS_CLONE_GC_ON_CLEANUP: 'false' };
    const first = await job(fake, keeping, 'r1', capped);
    expect((await first.s.cleanup(first.state, { succeeded: true })).kept).toBeDefined();
    const second = await job(fake, keeping, 'r2', capped);
    const refused = await second.s.cleanup(second.state, { succeeded: true });
    expect(refused).toMatchObject({ snapshot: undefined, kept: undefined, released: true });
    expect(refused.problems).toEqual(['not taking a snapshot: 1 unpromoted snapshots of cache gcc12 are kept already (ZFS_CLONE_MAX_KEPT_SNAPSHOTS=1)']);
    expect(snapshots(fake)).toHaveLength(1);
  });

  it('expire the keep time after the end of cleanup, never less than 10 minutes', async () => {
    const fake = seededCluster();
    const { s, state } = await job(fake, keeping, 'r1', { ...mainPush, ZFS_CLONE_KEEP_TTL: '0s', ZFS_CLONE_GC_ON_CLEANUP: 'false' });
    const report = await s.cleanup(state, { succeeded: true });
    expect(report.kept?.until).toBe('2025-06-01T00:10:00.000Z');
    expect(fake.store.get(`volumesnapshots/${NS}/${report.snapshot}`)?.metadata?.['annotations']).toMatchObject({
      'zrh.dev/expires-at': '2025-06-01T00:10:00.000Z',
    });
  });

  it('survive another job\'s gc that runs between "ready" and the compare-and-swap', async () => {
    const fake = seededCluster();
    const cas: KubeClient['replace'] = fake.replace.bind(fake);
    let collected: string[] = [];
    fake.replace = async <T>(ref: ResourceRef, body: T): Promise<T> => {
      if (ref.type.plural === 'configmaps') {
        // Another job's gc a minute later, with no grace at all: only an expiry keeps the snapshot.
        collected = [...(await gc(fake, { namespace: NS, now: Date.now() + 60_000, policy: { keepGenerations: 5, graceSeconds: 0 } })).deleted];
      }
      return cas(ref, body);
    };
    // The fake stamps objects with the wall clock, so the job runs on it too.
    const { s, state } = await job(fake, PROMOTING, 'r1', { ...mainPush, ZFS_CLONE_KEEP_TTL: '0s' }, () => new Date());
    const report = await s.cleanup(state, { succeeded: true });
    expect(report.promotion).toEqual({ outcome: 'promoted', generation: 2 });
    expect(collected).toEqual([]);
    const head = (await readHead(fake, NS, 'gcc12')).head;
    expect(fake.store.has(`volumesnapshots/${NS}/${head.snapshot}`)).toBe(true);
    // Promoted: a generation, with no expiry left.
    expect(fake.store.get(`volumesnapshots/${NS}/${head.snapshot}`)?.metadata?.['annotations']).not.toHaveProperty('zrh.dev/expires-at');
  });

  it('a lost race under ZFS_CLONE_ON_CONFLICT=keep drops its snapshot when the cap is reached', async () => {
    const fake = seededCluster();
    const capped = { ...mainPush, ZFS_CLONE_MAX_KEPT_SNAPSHOTS: '0' };
    const a = await job(fake, PROMOTING, 'ra', capped);
    const b = await job(fake, { ...PROMOTING, ZFS_CLONE_ON_CONFLICT: 'keep' }, 'rb', capped);
    expect((await a.s.cleanup(a.state, { succeeded: true })).promotion?.outcome).toBe('promoted');
    const lost = await b.s.cleanup(b.state, { succeeded: true });
    expect(lost).toMatchObject({ promotion: { outcome: 'lost' }, kept: undefined, released: true });
    expect(lost.problems).toEqual([
      `not keeping snapshot ${lost.snapshot}: 0 unpromoted snapshots of cache gcc12 are kept already (ZFS_CLONE_MAX_KEPT_SNAPSHOTS=0)`,
    ]);
    expect(fake.store.has(`volumesnapshots/${NS}/${lost.snapshot}`)).toBe(false);
  });
});

describe('the cap on kept snapshots', () => {
  /** Another job's snapshot of the cache, in flight (its cleanup has not decided yet) or kept. */
  const otherCandidate = (fake: ReturnType<typeof seededCluster>, kept: boolean) =>
    fake.put('volumesnapshots', {
      metadata: {
        name: `other-${kept ? 'kept' : 'in-flight'}`,
        namespace: NS,
        labels: {
          'app.kubernetes.io/managed-by': 'zfs-runner-hooks',
          'zrh.dev/role': 'candidate',
          'zrh.dev/cache': 'gcc12',
          ...(kept ? { 'zrh.dev/kept': 'true' } : {}),
        },
        annotations: { 'zrh.dev/expires-at': '2025-06-01T00:20:00.000Z' },
      },
    });

  it("counts kept snapshots only: another job's snapshot still in flight does not make a lost race drop its own", async () => {
    const fake = seededCluster();
    const capped = { ...mainPush, ZFS_CLONE_MAX_KEPT_SNAPSHOTS: '1' };
    otherCandidate(fake, false);
    const a = await job(fake, PROMOTING, 'ra', capped);
    const b = await job(fake, { ...PROMOTING, ZFS_CLONE_ON_CONFLICT: 'keep' }, 'rb', capped);
    expect((await a.s.cleanup(a.state, { succeeded: true })).promotion?.outcome).toBe('promoted');
    const lost = await b.s.cleanup(b.state, { succeeded: true });
    expect(lost).toMatchObject({ promotion: { outcome: 'lost' }, kept: { object: `snapshot/${lost.snapshot}` }, problems: [] });
    expect(fake.store.get(`volumesnapshots/${NS}/${lost.snapshot}`)?.metadata?.['labels']).toMatchObject({ 'zrh.dev/kept': 'true' });
  });

  it('a kept snapshot counts: with the cap reached the lost race drops its own', async () => {
    const fake = seededCluster();
    const capped = { ...mainPush, ZFS_CLONE_MAX_KEPT_SNAPSHOTS: '1' };
    otherCandidate(fake, true);
    const a = await job(fake, PROMOTING, 'ra', capped);
    const b = await job(fake, { ...PROMOTING, ZFS_CLONE_ON_CONFLICT: 'keep' }, 'rb', capped);
    expect((await a.s.cleanup(a.state, { succeeded: true })).promotion?.outcome).toBe('promoted');
    const lost = await b.s.cleanup(b.state, { succeeded: true });
    expect(lost).toMatchObject({ promotion: { outcome: 'lost' }, kept: undefined, released: true });
    expect(lost.problems).toEqual([
      `not keeping snapshot ${lost.snapshot}: 1 unpromoted snapshots of cache gcc12 are kept already (ZFS_CLONE_MAX_KEPT_SNAPSHOTS=1)`,
    ]);
  });
});

describe('cleanup reads the cache head', () => {
  it('only for a job that asks for a snapshot or a promotion', async () => {
    const fake = seededCluster();
    const quiet = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12' }, 'r1');
    const before = fake.requests.length;
    expect(await quiet.s.cleanup(quiet.state, { succeeded: true })).toMatchObject({ snapshot: undefined, released: true });
    expect(fake.requests.slice(before)).not.toContain('GET configmaps');

    const promoting = await job(fake, PROMOTING, 'r2');
    const start = fake.requests.length;
    expect((await promoting.s.cleanup(promoting.state, { succeeded: true })).promotion).toMatchObject({ outcome: 'promoted' });
    expect(fake.requests.slice(start)).toContain('GET configmaps');
  });
});

describe('gc on cleanup', () => {
  it('refuses to touch a cache whose head does not parse, and says so', async () => {
    const fake = seededCluster();
    const { s, state } = await job(fake, { ZFS_CLONE_SOURCE: 'gcc12', ZFS_CLONE_KEEP_ON_FAILURE: '1h' }, 'r1');
    fake.put('volumesnapshots', {
      metadata: {
        name: 'old',
        namespace: NS,
        creationTimestamp: '2024-01-01T00:00:00Z',
        labels: { 'app.kubernetes.io/managed-by': 'zfs-runner-hooks', 'zrh.dev/role': 'candidate', 'zrh.dev/cache': 'gcc12' },
      },
      spec: { source: { persistentVolumeClaimName: 'golden' } },
      status: { readyToUse: true },
    });
    const head = fake.store.get(`configmaps/${NS}/zfs-cache-gcc12`);
    fake.put('configmaps', { ...head, data: { ...(head?.['data'] as object), generation: 'two' } });
    const report = await s.cleanup(state, { succeeded: false });
    expect(report.kept?.object).toBe(`volume/${state.pvc}`);
    expect(report.problems).toEqual([
      expect.stringMatching(
        /^gc failed: gc refused to run in namespace "ci", nothing was deleted: cache "gcc12": ConfigMap "zfs-cache-gcc12" is not a valid cache head: data\.generation: expected a whole number/,
      ),
    ]);
    expect(fake.store.has(`volumesnapshots/${NS}/old`)).toBe(true);
    expect(fake.store.has(`volumesnapshots/${NS}/gcc12-g1`)).toBe(true);
  });
});
