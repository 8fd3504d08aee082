import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { KubeApiError, R } from '@zfs-runner-hooks/kube';
import { buildCacheEvent } from '../ops/events.js';
import { FakeKube } from '../ops/fake-kube.fixtures.js';
import { NS, seededCluster } from '../ops/ops.fixtures.js';
import { runCli, type ConnectOptions } from './run.js';

function sink(tty = false) {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  if (tty) Object.assign(stream, { isTTY: true });
  return { stream, text: () => text };
}

async function cli(fake: FakeKube, ...argv: string[]) {
  return cliOn({ tty: false }, fake, ...argv);
}

async function cliOn(options: { tty: boolean; connected?: ConnectOptions[] }, fake: FakeKube, ...argv: string[]) {
  const out = sink();
  const err = sink(options.tty);
  const connect = async (o: ConnectOptions) => {
    options.connected?.push(o);
    return fake;
  };
  const code = await runCli(['-n', NS, ...argv], { stdout: out.stream, stderr: err.stream, connect, now: () => new Date('2025-01-01T01:00:00Z') });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('zfs-clone CLI', () => {
  it('lists caches as a table', async () => {
    const { code, stdout } = await cli(seededCluster(), 'list');
    expect(code).toBe(0);
    expect(stdout).toBe(
      'CACHE   GENERATION   HEAD       READY   SIZE   GENERATIONS   LIVE CLONES   KEPT CLONES   UPDATED\n' +
        'gcc12   1            gcc12-g1   true    2Gi    1             0             0             60m\n',
    );
  });

  it('prints JSON with -o json', async () => {
    const { code, stdout } = await cli(seededCluster(), 'status', 'gcc12', '-o', 'json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ cache: 'gcc12', generation: 1, head: 'gcc12-g1', history: [{ generation: 1, exists: true, ready: true }] });
  });

  it('promotes, rolls back and reports the head', async () => {
    const fake = seededCluster();
    fake.put('volumesnapshots', { metadata: { name: 'g2', namespace: NS }, status: { readyToUse: true, restoreSize: '2Gi' } });
    expect((await cli(fake, 'promote', 'gcc12', 'g2')).stdout).toBe('cache/gcc12 promoted: generation 2 -> g2\n');
    expect((await cli(fake, 'promote', 'gcc12', 'g2', '--expect-generation', '1')).code).toBe(1);
    expect((await cli(fake, 'rollback', 'gcc12', '--to-generation', '1')).stdout).toBe(
      'cache/gcc12 rolled back: generation 3 -> gcc12-g1 (was generation 2, g2)\n',
    );
  });

  it('seeds a cache and shows progress on stderr when it is a terminal', async () => {
    const fake = seededCluster();
    const { code, stdout, stderr } = await cliOn({ tty: true }, fake, 'seed', 'clang', '--from-pvc', 'golden');
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^cache\/clang seeded: generation 1 -> clang-seed-[0-9a-f]{8}; no repository recorded: jobs promote it only where the runner's ZFS_CLONE_CACHE_REPOSITORIES binds it\n$/,
    );
    expect(stderr).toMatch(/\] snapshot clang-seed-[0-9a-f]{8} of PVC golden created, waiting until ready\n/);
    const quiet = await cli(seededCluster(), 'seed', 'clang', '--from-pvc', 'golden');
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain('waiting until ready');
  });

  it('shows the last events of the cache in status, and says why when it may not list them', async () => {
    const fake = seededCluster();
    const at = new Date('2025-01-01T00:58:00Z');
    await fake.create(
      { type: R.events, namespace: NS },
      buildCacheEvent(
        NS,
        { object: { kind: 'ConfigMap', name: 'zfs-cache-gcc12' }, reason: 'Promoted', message: 'Cache gcc12 promoted to generation 2', cache: 'gcc12' },
        at,
        'r1',
      ),
    );
    await fake.create(
      { type: R.events, namespace: NS },
      buildCacheEvent(NS, { object: { kind: 'ConfigMap', name: 'zfs-cache-clang' }, reason: 'Promoted', message: 'another cache', cache: 'clang' }, at, 'r1'),
    );
    const { code, stdout } = await cli(fake, 'status', 'gcc12');
    expect(code).toBe(0);
    expect(stdout.slice(stdout.indexOf('\nEvents:'))).toBe(
      '\nEvents:\nLAST SEEN   TYPE     REASON     OBJECT                      MESSAGE\n2m          Normal   Promoted   ConfigMap/zfs-cache-gcc12   Cache gcc12 promoted to generation 2\n',
    );
    expect(JSON.parse((await cli(fake, 'status', 'gcc12', '-o', 'json')).stdout).events).toEqual([
      {
        at: '2025-01-01T00:58:00.000Z',
        type: 'Normal',
        reason: 'Promoted',
        object: 'ConfigMap/zfs-cache-gcc12',
        message: 'Cache gcc12 promoted to generation 2',
      },
    ]);
    const forbidden = seededCluster();
    const list = forbidden.list.bind(forbidden);
    forbidden.list = (async (ref, options) => {
      if (ref.type.plural === 'events') {
        throw new KubeApiError('FORBIDDEN', 'events is forbidden', {
          status: 403,
          reason: 'Forbidden',
          serverMessage: 'events is forbidden',
          verb: 'list',
          resource: 'events',
          group: '',
          namespace: NS,
          name: undefined,
          causes: [],
        });
      }
      return list(ref, options);
    }) as typeof forbidden.list;
    const refused = await cli(forbidden, 'status', 'gcc12');
    expect(refused.code).toBe(0);
    expect(refused.stdout).toMatch(/\nEvents:\n  not shown: not allowed to list events in namespace "ci"\n$/);
  });

  it('prints YAML with -o yaml', async () => {
    const { code, stdout } = await cli(seededCluster(), 'status', 'gcc12', '-o', 'yaml');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^cache: gcc12\nnamespace: ci\ngeneration: 1\nhead: gcc12-g1\nhistory:\n- generation: 1\n  snapshot: gcc12-g1\n/);
  });

  it('connects with --kubeconfig and --context, given before or after the command', async () => {
    const connected: ConnectOptions[] = [];
    await cliOn({ tty: false, connected }, seededCluster(), '--context', 'prod', 'list', '--kubeconfig', '/k/config');
    expect(connected).toEqual([{ kubeconfig: '/k/config', context: 'prod' }]);
  });

  it('plans gc on a dry run without deleting', async () => {
    const fake = seededCluster();
    fake.put('volumesnapshots', {
      metadata: {
        name: 'old',
        namespace: NS,
        creationTimestamp: '2024-01-01T00:00:00Z',
        labels: { 'app.kubernetes.io/managed-by': 'zfs-runner-hooks', 'zrh.dev/role': 'candidate', 'zrh.dev/cache': 'gcc12' },
      },
      spec: { source: { persistentVolumeClaimName: 'c-old' } },
      status: { readyToUse: true },
    });
    // Its clone, handed over to it as snapshot back does.
    fake.put('persistentvolumeclaims', {
      metadata: {
        name: 'c-old',
        namespace: NS,
        creationTimestamp: '2024-01-01T00:00:00Z',
        labels: { 'app.kubernetes.io/managed-by': 'zfs-runner-hooks', 'zrh.dev/role': 'clone', 'zrh.dev/cache': 'gcc12' },
        ownerReferences: [
          {
            apiVersion: 'snapshot.storage.k8s.io/v1',
            kind: 'VolumeSnapshot',
            name: 'old',
            uid: fake.store.get(`volumesnapshots/${NS}/old`)?.metadata?.uid ?? '',
          },
        ],
      },
      spec: { dataSource: { kind: 'VolumeSnapshot', name: 'gcc12-g1' } },
      status: { phase: 'Bound' },
    });
    const { code, stdout } = await cli(fake, 'gc', 'gcc12', '--dry-run');
    expect(code).toBe(0);
    expect(stdout).toContain('snapshot/old   gcc12   would delete   snapshot not promoted and nothing depends on it');
    expect(fake.store.has(`volumesnapshots/${NS}/old`)).toBe(true);
    await cli(fake, 'gc', 'gcc12');
    expect(fake.store.has(`volumesnapshots/${NS}/old`)).toBe(false);
  });

  it('shows an unpromoted snapshot that lost its volume as not ready, whatever readyToUse says', async () => {
    const fake = seededCluster();
    const candidate = (name: string, pvc: string) =>
      fake.put('volumesnapshots', {
        metadata: {
          name,
          namespace: NS,
          creationTimestamp: '2025-01-01T00:00:00Z',
          labels: { 'app.kubernetes.io/managed-by': 'zfs-runner-hooks', 'zrh.dev/role': 'candidate', 'zrh.dev/cache': 'gcc12' },
        },
        spec: { source: { persistentVolumeClaimName: pvc } },
        status: { readyToUse: true },
      });
    candidate('lost', 'c-lost');
    const kept = candidate('whole', 'c-whole');
    fake.put('persistentvolumeclaims', {
      metadata: {
        name: 'c-whole',
        namespace: NS,
        ownerReferences: [{ apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', name: 'whole', uid: kept.metadata?.uid ?? '' }],
      },
      status: { phase: 'Bound' },
    });
    const { code, stdout } = await cli(fake, 'status', 'gcc12');
    expect(code).toBe(0);
    expect(stdout).toMatch(/\n *lost +false \(volume gone\) +- +60m\n/);
    expect(stdout).toMatch(/\n *whole +true +- +60m\n/);
  });

  it('records who may promote a seeded cache', async () => {
    const fake = seededCluster();
    const { code, stdout } = await cli(fake, 'seed', 'clang', '--from-pvc', 'golden', '--repository', 'acme/compiler', '--repository', 'acme/tools,acme/x-*');
    expect(code).toBe(0);
    expect(stdout).toContain('; jobs of acme/compiler, acme/tools, acme/x-* may promote it\n');
    expect(fake.store.get(`configmaps/${NS}/zfs-cache-clang`)?.metadata?.['annotations']).toEqual({
      'zrh.dev/repositories': 'acme/compiler,acme/tools,acme/x-*',
    });
    expect((await cli(fake, 'seed', 'c2', '--from-pvc', 'golden', '--repository', 'acme')).stderr).toContain(
      '--repository expects owner/name (globs allowed), got "acme"',
    );
  });

  it.each([
    [
      'a head that does not parse',
      (fake: ReturnType<typeof seededCluster>) => {
        const head = fake.store.get(`configmaps/${NS}/zfs-cache-gcc12`);
        fake.put('configmaps', { ...head, data: { ...(head?.['data'] as object), history: '[{' } });
      },
      /cache "gcc12": ConfigMap "zfs-cache-gcc12" is not a valid cache head: data\.history: not a JSON history list/,
    ],
    [
      'a head whose snapshot is gone',
      (fake: ReturnType<typeof seededCluster>) => fake.store.delete(`volumesnapshots/${NS}/gcc12-g1`),
      /cache "gcc12": its head \(generation 1\) points at VolumeSnapshot "gcc12-g1", which does not exist/,
    ],
  ])('gc deletes nothing and exits 1 naming the cache for %s', async (_what, damage, problem) => {
    const fake = seededCluster();
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
    damage(fake);
    const before = [...fake.store.keys()].sort();
    for (const argv of [['gc'], ['gc', 'gcc12'], ['gc', '--dry-run']]) {
      const { code, stdout, stderr } = await cli(fake, ...argv);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^error: gc refused to run in namespace "ci", nothing was deleted: /);
      expect(stderr).toMatch(problem);
    }
    expect([...fake.store.keys()].sort()).toEqual(before);
  });

  it.each([
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['status'], 'error: status takes <cache>, got none\n'],
    [['gc', '--keep', 'lots'], '--keep expects a whole number, got "lots"'],
    [['seed', 'c'], 'seed needs exactly one of --from-pvc or --from-snapshot'],
    [['list', '--bogus'], 'error: unknown option --bogus for list\n'],
    [['status', 'Bad_Name'], '"Bad_Name" is not a cache name'],
    [['list', '-o', 'xml'], 'error: --output must be table, json or yaml, got "xml"\n'],
    [['promote', 'c', 's', '--expect-generation', 'x1'], 'error: --expect-generation expects a whole number, got "x1"\n'],
    [
      ['gc', '--keep', '2.5', '--grace', 'soon'],
      'error: 2 problems:\n  - --keep expects a whole number, got "2.5"\n  - --grace expects a whole number, got "soon"\n',
    ],
  ])('exits 2 with usage for %j', async (argv, message) => {
    const { code, stderr } = await cli(seededCluster(), ...argv);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).toContain('Usage: zfs-clone');
  });

  it('exits 1 with the error for a missing cache', async () => {
    const { code, stderr } = await cli(seededCluster(), 'status', 'clang');
    expect(code).toBe(1);
    expect(stderr).toBe('error: Cache "clang" does not exist in namespace "ci". See `zfs-clone list`.\n');
  });
});
