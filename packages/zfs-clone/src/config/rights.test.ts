import { describe, expect, it } from 'vitest';
import { readRunnerSettings, rightsLimits } from './resolve.js';
import { decideRights, jobFactsFrom, promoteDenial, type WantedPolicy } from './rights.js';

const mainPush = { GITHUB_REF: 'refs/heads/main', GITHUB_EVENT_NAME: 'push', GITHUB_REPOSITORY: 'acme/app' };
const cache = { kind: 'cache', name: 'gcc12' } as const;

function limits(env: Record<string, string> = {}) {
  const read = readRunnerSettings(env);
  if (!read.ok) throw new Error(read.problems.join('\n'));
  return rightsLimits(read.settings);
}

const promoting: WantedPolicy = { promote: true, snapshotBack: 'on-success', snapshotBackSet: false };
const snapshotting: WantedPolicy = { promote: false, snapshotBack: 'always', snapshotBackSet: true };

describe('promoteDenial', () => {
  it.each([
    ['pull_request', 'refs/pull/7/merge', 'event "pull_request" is not in the runner\'s ZFS_CLONE_PROMOTE_EVENTS (push,schedule,workflow_dispatch)'],
    ['pull_request_target', 'refs/heads/main', 'event "pull_request_target" is not in the runner\'s ZFS_CLONE_PROMOTE_EVENTS'],
    ['push', 'refs/heads/feature', 'ref "refs/heads/feature" is not in the runner\'s ZFS_CLONE_PROMOTE_REFS (refs/heads/main)'],
  ])('refuses event %s on %s', (event, ref, reason) => {
    const job = { eventName: event, ref, repository: 'acme/app' };
    expect(promoteDenial(job, limits({ ZFS_CLONE_CACHE_REPOSITORIES: 'gcc12=acme/app' }), 'gcc12', undefined)).toContain(reason);
  });

  it('refuses when the hook does not know who is asking', () => {
    expect(promoteDenial(jobFactsFrom({ GITHUB_EVENT_NAME: 'push', GITHUB_REF: '' }), limits(), 'gcc12', ['*'])).toBe(
      "the job's ref is unknown (GITHUB_* not set in the hook's environment)",
    );
  });

  it('refuses a cache bound to no repository by default, and says how to bind it', () => {
    expect(promoteDenial(jobFactsFrom(mainPush), limits(), 'gcc12', undefined)).toBe(
      'cache "gcc12" is bound to no repository (the runner\'s ZFS_CLONE_CACHE_REPOSITORIES does not name it and its head records no zrh.dev/repositories); ' +
        "to let acme/app promote it, add gcc12=acme/app to the runner's ZFS_CLONE_CACHE_REPOSITORIES or record it on the cache " +
        '(zfs-clone seed gcc12 --repository acme/app, or kubectl annotate configmap zfs-cache-gcc12 zrh.dev/repositories=acme/app)',
    );
  });

  it('lets only the repositories the runner binds to a cache promote it', () => {
    const bound = limits({ ZFS_CLONE_CACHE_REPOSITORIES: 'gcc12-*=acme/compiler, gcc12-*=acme/tools, clang17=acme/*' });
    const as = (repository: string, name: string) => promoteDenial({ ...jobFactsFrom(mainPush), repository }, bound, name, undefined);
    expect(as('acme/compiler', 'gcc12-main')).toBeUndefined();
    expect(as('acme/tools', 'gcc12-main')).toBeUndefined();
    expect(as('acme/anything', 'clang17')).toBeUndefined();
    expect(as('acme/app', 'gcc12-main')).toBe(
      'repository "acme/app" may not promote cache "gcc12-main": the runner\'s ZFS_CLONE_CACHE_REPOSITORIES binds it to acme/compiler,acme/tools',
    );
    expect(as('evil/fork', 'clang17')).toContain('binds it to acme/*');
    // A cache the mapping does not name falls back to what its head records: here nothing.
    expect(as('acme/compiler', 'other')).toContain('cache "other" is bound to no repository');
  });

  it('lets the repositories a cache head records promote it', () => {
    expect(promoteDenial(jobFactsFrom(mainPush), limits(), 'gcc12', ['acme/app'])).toBeUndefined();
    expect(promoteDenial({ ...jobFactsFrom(mainPush), repository: 'other/repo' }, limits(), 'gcc12', ['acme/app'])).toBe(
      'repository "other/repo" may not promote cache "gcc12": its head (ConfigMap zfs-cache-gcc12) records zrh.dev/repositories=acme/app',
    );
    // An empty record admits nobody.
    expect(promoteDenial(jobFactsFrom(mainPush), limits(), 'gcc12', [])).toContain('records zrh.dev/repositories=');
  });

  it('needs both the runner mapping and the head record to admit the repository when both exist', () => {
    const bound = limits({ ZFS_CLONE_CACHE_REPOSITORIES: 'gcc12=acme/*' });
    expect(promoteDenial(jobFactsFrom(mainPush), bound, 'gcc12', ['acme/app'])).toBeUndefined();
    expect(promoteDenial(jobFactsFrom(mainPush), bound, 'gcc12', ['acme/lib'])).toContain('its head (ConfigMap zfs-cache-gcc12) records');
    expect(promoteDenial(jobFactsFrom(mainPush), limits({ ZFS_CLONE_CACHE_REPOSITORIES: 'gcc12=acme/lib' }), 'gcc12', ['acme/*'])).toContain(
      'binds it to acme/lib',
    );
  });
});

describe('decideRights', () => {
  it('lets a bound push to main promote and snapshot back on success', () => {
    const rights = decideRights(promoting, jobFactsFrom(mainPush), limits(), cache, ['acme/app']);
    expect(rights).toEqual({ promote: true, snapshotBack: 'on-success', denial: undefined, warnings: [] });
  });

  it("drops a pull request's promotion and the snapshot it implied, with one warning", () => {
    const pr = jobFactsFrom({ ...mainPush, GITHUB_EVENT_NAME: 'pull_request' });
    const rights = decideRights(promoting, pr, limits(), cache, ['acme/app']);
    expect(rights).toMatchObject({ promote: false, snapshotBack: 'never' });
    expect(rights.warnings).toEqual([
      'ZFS_CLONE_PROMOTE=true is ignored: event "pull_request" is not in the runner\'s ZFS_CLONE_PROMOTE_EVENTS (push,schedule,workflow_dispatch); the clone is used without promotion.',
    ]);
  });

  it('refuses a snapshot back to a job that may not promote unless the runner allows it', () => {
    const pr = jobFactsFrom({ ...mainPush, GITHUB_EVENT_NAME: 'pull_request' });
    const refused = decideRights(snapshotting, pr, limits(), cache, ['acme/app']);
    expect(refused).toMatchObject({ promote: false, snapshotBack: 'never' });
    expect(refused.warnings).toEqual([
      'ZFS_CLONE_SNAPSHOT_BACK=always is ignored: this job may not promote into its source (event "pull_request" is not in the runner\'s ZFS_CLONE_PROMOTE_EVENTS (push,schedule,workflow_dispatch)) ' +
        "and the runner's ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB is false; no snapshot is taken.",
    ]);
    const allowed = decideRights(snapshotting, pr, limits({ ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB: 'true' }), cache, ['acme/app']);
    expect(allowed).toMatchObject({ promote: false, snapshotBack: 'always', warnings: [] });
  });

  it("refuses both promotion and an explicit snapshot back to another repository's cache", () => {
    const rights = decideRights(
      { ...promoting, snapshotBack: 'always', snapshotBackSet: true },
      { ...jobFactsFrom(mainPush), repository: 'evil/b' },
      limits(),
      cache,
      ['acme/app'],
    );
    expect(rights).toMatchObject({ promote: false, snapshotBack: 'never' });
    expect(rights.warnings).toEqual([
      expect.stringMatching(/^ZFS_CLONE_PROMOTE=true is ignored: repository "evil\/b" may not promote cache "gcc12"/),
      expect.stringMatching(
        /^ZFS_CLONE_SNAPSHOT_BACK=always is ignored: this job may not promote into its source and the runner's ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB is false/,
      ),
    ]);
  });

  it('lets a job that may promote snapshot back without promoting', () => {
    expect(decideRights(snapshotting, jobFactsFrom(mainPush), limits(), cache, ['acme/app'])).toMatchObject({
      promote: false,
      snapshotBack: 'always',
      warnings: [],
    });
  });

  it('treats a snapshot source as a source nobody may promote into', () => {
    const rights = decideRights(snapshotting, jobFactsFrom(mainPush), limits(), { kind: 'snapshot', name: 'debug-1' }, undefined);
    expect(rights).toMatchObject({ snapshotBack: 'never', denial: '"snapshot:debug-1" is not a cache' });
  });
});
