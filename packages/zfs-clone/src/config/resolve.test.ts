import { describe, expect, it } from 'vitest';
import { resolveCloneConfig, resolveCloneConfigOrThrow } from './resolve.js';

const mainPush = { GITHUB_REF: 'refs/heads/main', GITHUB_EVENT_NAME: 'push', GITHUB_REPOSITORY: 'acme/app' };

function ok(runnerEnv: Record<string, string>, containerEnv: Record<string, string>) {
  const result = resolveCloneConfig(runnerEnv, containerEnv);
  if (!result.ok) throw new Error(result.message);
  return result;
}

describe('resolveCloneConfig', () => {
  it('turns the feature off when neither the workflow nor the runner names a source', () => {
    expect(ok(mainPush, { HOME: '/github/home' })).toEqual({ ok: true, config: null, warnings: [] });
  });

  it('lets a workflow opt out of the runner default source with none', () => {
    expect(ok({ ...mainPush, ZFS_CLONE_DEFAULT_SOURCE: 'gcc12' }, { ZFS_CLONE_SOURCE: 'none' }).config).toBeNull();
  });

  it('applies the documented defaults for a bare cache name', () => {
    const { config } = ok(mainPush, { ZFS_CLONE_SOURCE: 'gcc12-main' });
    expect(config).toMatchObject({
      source: { kind: 'cache', name: 'gcc12-main' },
      mountPath: '/CONAN_HOME',
      envVar: 'CONAN_HOME',
      snapshotBack: 'never',
      promote: false,
      keepOnFailureSeconds: 0,
      onConflict: 'drop',
      keepTtlSeconds: 86_400,
      maxKeptClones: 3,
      keepGenerations: 5,
      timeoutSeconds: 300,
      storageClass: undefined,
    });
  });

  it('treats empty values as unset', () => {
    const { config } = ok(mainPush, { ZFS_CLONE_SOURCE: 'c', ZFS_CLONE_MOUNT_PATH: '', ZFS_CLONE_PROMOTE: '' });
    expect(config?.mountPath).toBe('/CONAN_HOME');
    expect(config?.promote).toBe(false);
  });

  it('snapshots back on success by default when a push to main promotes', () => {
    const { config, warnings } = ok(mainPush, { ZFS_CLONE_SOURCE: 'cache:c', ZFS_CLONE_PROMOTE: 'true' });
    expect(config).toMatchObject({ promote: true, snapshotBack: 'on-success' });
    expect(warnings).toEqual([]);
  });

  it("carries the wishes and the runner limits; the job's rights are decided once the head is read", () => {
    const { config, warnings } = ok(
      {
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_REF: 'refs/pull/7/merge',
        GITHUB_REPOSITORY: 'acme/app',
        ZFS_CLONE_CACHE_REPOSITORIES: 'gcc12-*=acme/compiler, clang=acme/*',
      },
      { ZFS_CLONE_SOURCE: 'c', ZFS_CLONE_PROMOTE: 'true' },
    );
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ promote: true, snapshotBack: 'on-success', snapshotBackSet: false, maxKeptSnapshots: 3 });
    expect(config?.job).toEqual({ eventName: 'pull_request', ref: 'refs/pull/7/merge', repository: 'acme/app' });
    expect(config?.limits).toMatchObject({
      ZFS_CLONE_CACHE_REPOSITORIES: [
        { cache: 'gcc12-*', repository: 'acme/compiler' },
        { cache: 'clang', repository: 'acme/*' },
      ],
      ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB: false,
    });
  });

  it.each([['gcc12'], ['gcc12=acme/a=b'], ['=acme/a'], ['gcc12=']])('refuses the cache binding %s', (binding) => {
    const result = resolveCloneConfig({ ...mainPush, ZFS_CLONE_CACHE_REPOSITORIES: binding }, { ZFS_CLONE_SOURCE: 'c' });
    expect(!result.ok && result.problems[0]).toMatch(
      /^runner env\.ZFS_CLONE_CACHE_REPOSITORIES: ".*" is not <cache glob>=<repository glob>; write e\.g\. gcc12-\*=your-org\/compiler$/,
    );
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['on', true],
    ['On', true],
    ['false', false],
    ['False', false],
    ['0', false],
    ['no', false],
    ['off', false],
    ['OFF', false],
  ])('reads the boolean ZFS_CLONE_PROMOTE=%j as %s, like the hook settings', (value, promote) => {
    expect(ok(mainPush, { ZFS_CLONE_SOURCE: 'c', ZFS_CLONE_PROMOTE: value }).config?.promote).toBe(promote);
  });

  it.each(['maybe', 'y', '2', 'enabled'])('refuses the boolean ZFS_CLONE_PROMOTE=%j and ZFS_CLONE_GC_ON_CLEANUP=%j', (value) => {
    const result = resolveCloneConfig({ ...mainPush, ZFS_CLONE_GC_ON_CLEANUP: value }, { ZFS_CLONE_SOURCE: 'c', ZFS_CLONE_PROMOTE: value });
    expect(!result.ok && result.problems).toEqual([
      'runner env.ZFS_CLONE_GC_ON_CLEANUP: expected true or false (also 1/yes/on and 0/no/off)',
      'container.env.ZFS_CLONE_PROMOTE: expected true or false (also 1/yes/on and 0/no/off)',
    ]);
  });

  it.each([
    ['ZFS_CLONE_KEEP_TTL', '1d', 'keepTtlSeconds', 86_400],
    ['ZFS_CLONE_KEEP_TTL', ' 2h ', 'keepTtlSeconds', 7200],
    ['ZFS_CLONE_TIMEOUT_SECONDS', '60', 'timeoutSeconds', 60],
    ['ZFS_CLONE_MAX_KEPT_CLONES', ' 0 ', 'maxKeptClones', 0],
  ])('reads %s=%j', (name, value, field, expected) => {
    expect(ok({ ...mainPush, [name]: value }, { ZFS_CLONE_SOURCE: 'c' }).config).toHaveProperty(field, expected);
  });

  it.each([
    ['ZFS_CLONE_KEEP_TTL', '24', 'expected a duration such as 90s, 30m, 24h, 7d or 1h30m'],
    ['ZFS_CLONE_MAX_KEEP_TTL', '1w', 'expected a duration such as 90s, 30m, 24h, 7d or 1h30m'],
    ['ZFS_CLONE_TIMEOUT_SECONDS', '5m', 'expected a whole number of seconds (0 or more)'],
    ['ZFS_CLONE_KEEP_GENERATIONS', '-1', 'expected a whole number (0 or more)'],
  ])('refuses %s=%j', (name, value, message) => {
    const result = resolveCloneConfig({ ...mainPush, [name]: value }, { ZFS_CLONE_SOURCE: 'c' });
    expect(!result.ok && result.problems).toEqual([`runner env.${name}: ${message}`]);
  });

  it('keeps unpromoted snapshots at least 10 minutes', () => {
    expect(ok({ ...mainPush, ZFS_CLONE_KEEP_TTL: '0s' }, { ZFS_CLONE_SOURCE: 'c' }).config?.keepTtlSeconds).toBe(600);
  });

  it('refuses a plain snapshot source under the default allow-list', () => {
    const result = resolveCloneConfig(mainPush, { ZFS_CLONE_SOURCE: 'snapshot:old-debug' });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([
      expect.stringContaining('"snapshot:old-debug" is not allowed by the runner\'s ZFS_CLONE_ALLOWED_SOURCES (cache:*)'),
    ]);
  });

  it('allows sources that match the runner allow-list globs', () => {
    const runner = { ...mainPush, ZFS_CLONE_ALLOWED_SOURCES: 'cache:gcc12-*,snapshot:golden-*' };
    expect(ok(runner, { ZFS_CLONE_SOURCE: 'snapshot:golden-2024' }).config?.source).toEqual({
      kind: 'snapshot',
      name: 'golden-2024',
    });
    expect(resolveCloneConfig(runner, { ZFS_CLONE_SOURCE: 'clang-main' }).ok).toBe(false);
  });

  it('reports every problem at once with where it is and what to change', () => {
    const result = resolveCloneConfig(
      { ...mainPush, ZFS_CLONE_MAX_KEPT_CLONES: 'many' },
      {
        ZFS_CLONE_SOURCE: 'Bad_Name',
        ZFS_CLONE_MOUNT_PATH: 'relative/path',
        ZFS_CLONE_SNAPSHOT_BACK: 'sometimes',
        ZFS_CLONE_PROMOT: 'true',
        ZFS_CLONE_KEEP_ON_FAILURE: 'a while',
      },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      'runner env.ZFS_CLONE_MAX_KEPT_CLONES: expected a whole number (0 or more)',
      expect.stringMatching(/^container\.env\.ZFS_CLONE_SOURCE: "Bad_Name" is not a cache name/),
      'container.env.ZFS_CLONE_MOUNT_PATH: expected an absolute path',
      'container.env.ZFS_CLONE_SNAPSHOT_BACK: expected one of "never", "always", "on-success"',
      'container.env.ZFS_CLONE_KEEP_ON_FAILURE: expected true, false or a duration such as 24h',
      'container.env.ZFS_CLONE_PROMOT: unknown setting; did you mean ZFS_CLONE_PROMOTE?',
    ]);
    expect(result.message).toMatch(/^Invalid ZFS clone configuration \(6 problems\):\n {2}- runner env/);
  });

  it('rejects promotion combined with a snapshot source or no snapshot', () => {
    const runner = { ...mainPush, ZFS_CLONE_ALLOWED_SOURCES: '*' };
    const a = resolveCloneConfig(runner, { ZFS_CLONE_SOURCE: 'snapshot:s', ZFS_CLONE_PROMOTE: 'true' });
    const b = resolveCloneConfig(runner, { ZFS_CLONE_SOURCE: 'c', ZFS_CLONE_PROMOTE: 'true', ZFS_CLONE_SNAPSHOT_BACK: 'never' });
    expect(!a.ok && a.problems[0]).toContain('only a cache can be promoted into');
    expect(!b.ok && b.problems[0]).toContain('ZFS_CLONE_SNAPSHOT_BACK=never; set it to on-success or always');
  });

  it('caps the keep time at the runner limit and resolves true to the runner default', () => {
    const tooLong = resolveCloneConfig(mainPush, { ZFS_CLONE_SOURCE: 'c', ZFS_CLONE_KEEP_ON_FAILURE: '30d' });
    expect(!tooLong.ok && tooLong.problems[0]).toContain("30d is longer than the runner's ZFS_CLONE_MAX_KEEP_TTL (7d)");
    const byDefault = ok({ ...mainPush, ZFS_CLONE_KEEP_TTL: '2h' }, { ZFS_CLONE_SOURCE: 'c', ZFS_CLONE_KEEP_ON_FAILURE: 'true' });
    expect(byDefault.config?.keepOnFailureSeconds).toBe(7200);
    const off = ok({ ...mainPush, ZFS_CLONE_MAX_KEPT_CLONES: '0' }, { ZFS_CLONE_SOURCE: 'c', ZFS_CLONE_KEEP_ON_FAILURE: '1h' });
    expect(off.config?.keepOnFailureSeconds).toBe(0);
  });

  it('checks the namespace against the runner limit', () => {
    const result = resolveCloneConfig({ ...mainPush, ZFS_CLONE_NAMESPACES: 'ci-*' }, { ZFS_CLONE_SOURCE: 'c' }, { namespace: 'prod' });
    expect(!result.ok && result.problems[0]).toContain('namespace "prod" is not in the runner\'s ZFS_CLONE_NAMESPACES (ci-*)');
  });

  it('ignores workflow-style variables in the runner env but reads runner defaults', () => {
    const { config } = ok(
      { ...mainPush, ZFS_CLONE_SOURCE: 'ignored', ZFS_CLONE_DEFAULT_SOURCE: 'gcc12', ZFS_CLONE_DEFAULT_STORAGE_CLASS: 'openebs-zfspv' },
      {},
    );
    expect(config).toMatchObject({ source: { kind: 'cache', name: 'gcc12' }, storageClass: 'openebs-zfspv' });
  });

  it('throws a CONFIG_INVALID error from the throwing variant', () => {
    expect(() => resolveCloneConfigOrThrow({}, { ZFS_CLONE_SOURCE: 'x:y' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('unknown source kind "x"') }),
    );
  });
});
