import { describe, expect, it } from 'vitest';
import type { CacheHead } from './graph.js';
import { advanceHead, buildHeadConfigMap, HISTORY_LIMIT, parseHead } from './head.js';
import { graphFromObjects } from './from-objects.js';

const head: CacheHead = {
  cache: 'gcc12',
  snapshot: 'gcc12-seed',
  generation: 1,
  history: [{ generation: 1, snapshot: 'gcc12-seed', at: '2025-01-01T00:00:00.000Z', reason: 'seed' }],
};

describe('cache head ConfigMap', () => {
  it('round-trips through buildHeadConfigMap and parseHead under the name zfs-cache-<cache>', () => {
    const cm = buildHeadConfigMap({ namespace: 'ci', head, resourceVersion: '42' });
    expect(cm.metadata).toMatchObject({ name: 'zfs-cache-gcc12', namespace: 'ci', resourceVersion: '42' });
    expect(cm.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'zfs-runner-hooks', 'zrh.dev/role': 'head', 'zrh.dev/cache': 'gcc12' });
    expect(parseHead(cm)).toEqual(head);
  });

  it('advances one generation at a time, newest first, capping the history', () => {
    let h = head;
    for (let i = 0; i < HISTORY_LIMIT + 5; i++) h = advanceHead(h, `s${i}`, { at: 'now', reason: 'promote' });
    expect(h.generation).toBe(HISTORY_LIMIT + 6);
    expect(h.snapshot).toBe(`s${HISTORY_LIMIT + 4}`);
    expect(h.history).toHaveLength(HISTORY_LIMIT);
    expect(h.history[0]).toEqual({ generation: HISTORY_LIMIT + 6, snapshot: h.snapshot, at: 'now', reason: 'promote' });
  });

  it('explains every problem of a damaged head', () => {
    expect(() => parseHead({ metadata: { name: 'zfs-cache-x' }, data: { cache: 'x', generation: 'two', history: '[' } })).toThrow(
      /ConfigMap "zfs-cache-x" is not a valid cache head: data\.snapshot: .*; data\.generation: .*; data\.history: not a JSON history list/,
    );
  });
});

describe('graphFromObjects', () => {
  const managed = { 'app.kubernetes.io/managed-by': 'zfs-runner-hooks', 'zrh.dev/cache': 'gcc12' };
  it('links clones to snapshots and snapshots to volumes, with unmanaged seeds and live clones', () => {
    const { graph, problems } = graphFromObjects({
      heads: [buildHeadConfigMap({ namespace: 'ci', head })],
      snapshots: [
        {
          metadata: { name: 'gcc12-seed', creationTimestamp: '2025-01-01T00:00:00Z' as unknown as Date },
          spec: { source: { persistentVolumeClaimName: 'golden' } },
          status: { readyToUse: true, restoreSize: '2Gi' },
        },
        { metadata: { name: 'unrelated' }, spec: { source: { persistentVolumeClaimName: 'other' } } },
      ],
      pvcs: [
        { metadata: { name: 'golden' } },
        { metadata: { name: 'other' } },
        {
          metadata: {
            name: 'job-1',
            labels: { ...managed, 'zrh.dev/role': 'clone' },
            ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u' }],
          },
          spec: { dataSource: { kind: 'VolumeSnapshot', name: 'gcc12-seed' } },
        },
        {
          metadata: { name: 'kept-1', labels: { ...managed, 'zrh.dev/role': 'clone' }, annotations: { 'zrh.dev/expires-at': '2025-01-02T00:00:00Z' } },
          spec: { dataSource: { kind: 'VolumeSnapshot', name: 'gcc12-seed' } },
        },
      ],
    });
    expect(problems).toEqual([]);
    expect(graph.snapshots).toEqual([
      {
        name: 'gcc12-seed',
        cache: undefined,
        source: 'golden',
        managed: false,
        ready: true,
        expiresAt: undefined,
        createdAt: Date.parse('2025-01-01T00:00:00Z'),
        size: 2 * 2 ** 30,
        deleting: false,
      },
    ]);
    expect(graph.volumes.map((v) => [v.name, v.managed, v.live, v.origin, v.expiresAt])).toEqual([
      ['golden', false, false, undefined, undefined],
      ['job-1', true, true, 'gcc12-seed', undefined],
      ['kept-1', true, false, 'gcc12-seed', Date.parse('2025-01-02T00:00:00Z')],
    ]);
    expect(graph.heads).toEqual([head]);
  });
});
