import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { buildCacheEvent, readCacheEvents, recordCacheEvent } from './events.js';
import { FakeKube } from './fake-kube.fixtures.js';
import { NS } from './ops.fixtures.js';

const AT = new Date('2025-06-01T12:34:56.789Z');
const clone = { kind: 'PersistentVolumeClaim', name: 'runner-1-zfs-abc', uid: 'u-1' } as const;

function debugLog() {
  const lines: string[] = [];
  return { lines, log: { debug: (m: string) => lines.push(m) } };
}

describe('buildCacheEvent', () => {
  it('builds a core/v1 Event as kubectl shows it: involved object with uid, reason, message, type, source, count 1, times to the second', () => {
    const event = buildCacheEvent(
      NS,
      { object: clone, reason: 'CloneCreated', message: 'Cloned from cache gcc12 generation 3', cache: 'gcc12' },
      AT,
      'runner-1',
    );
    expect(event).toMatchObject({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'zfs-runner-hooks', 'zrh.dev/cache': 'gcc12' } },
      involvedObject: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'runner-1-zfs-abc', namespace: NS, uid: 'u-1' },
      reason: 'CloneCreated',
      message: 'Cloned from cache gcc12 generation 3',
      type: 'Normal',
      source: { component: 'zfs-runner-hooks' },
      reportingComponent: 'zfs-runner-hooks',
      reportingInstance: 'runner-1',
      count: 1,
    });
    expect(JSON.parse(JSON.stringify(event))).toMatchObject({ firstTimestamp: '2025-06-01T12:34:56.000Z', lastTimestamp: '2025-06-01T12:34:56.000Z' });
    expect(event.metadata.name).toMatch(/^runner-1-zfs-abc\.[0-9a-f]{16}$/);
    expect(buildCacheEvent(NS, { object: clone, reason: 'R', message: 'm' }, AT, undefined).metadata.name).not.toBe(event.metadata.name);
  });

  it.each([
    ['VolumeSnapshot', 'snapshot.storage.k8s.io/v1'],
    ['ConfigMap', 'v1'],
  ] as const)('names the API version of a %s', (kind, apiVersion) => {
    expect(buildCacheEvent(NS, { object: { kind, name: 'x' }, reason: 'R', message: 'm' }, AT, undefined).involvedObject).toEqual({
      apiVersion,
      kind,
      name: 'x',
      namespace: NS,
    });
  });

  it('cuts a long message to 1024 characters and labels no cache when there is none', () => {
    const event = buildCacheEvent(NS, { object: clone, reason: 'GarbageCollected', message: 'x'.repeat(5000), type: 'Warning' }, AT, undefined);
    expect(event.message).toHaveLength(1024);
    expect(event.message?.endsWith('…')).toBe(true);
    expect(event.type).toBe('Warning');
    expect(event.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'zfs-runner-hooks' });
    expect(event).not.toHaveProperty('reportingInstance');
  });
});

describe('recordCacheEvent', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('creates the event, reading the uid of an object given without one', async () => {
    const fake = new FakeKube();
    const head = fake.put('configmaps', { metadata: { name: 'zfs-cache-gcc12', namespace: NS } });
    const { lines, log } = debugLog();
    await recordCacheEvent(
      fake,
      NS,
      { object: { kind: 'ConfigMap', name: 'zfs-cache-gcc12' }, reason: 'Promoted', message: 'to generation 2', cache: 'gcc12' },
      log,
      { now: () => AT },
    );
    const [event, ...others] = fake.all('events') as { involvedObject?: { uid?: string }; reason?: string }[];
    expect(others).toEqual([]);
    expect(event).toMatchObject({ reason: 'Promoted', involvedObject: { uid: head.metadata?.uid } });
    expect(lines).toEqual([]);
  });

  it('never throws: a refused create is logged at debug level and the job goes on', async () => {
    const fake = new FakeKube();
    fake.missingResources.add('events');
    const { lines, log } = debugLog();
    await expect(recordCacheEvent(fake, NS, { object: clone, reason: 'CloneCreated', message: 'm' }, log, { now: () => AT })).resolves.toBeUndefined();
    expect(lines).toEqual([expect.stringMatching(/^event CloneCreated on PersistentVolumeClaim runner-1-zfs-abc not recorded: .*could not find/)]);
  });

  it('waits at most 2 s for an API server that does not answer', async () => {
    vi.useFakeTimers();
    let settle: ((error: Error) => void) | undefined;
    const hanging = { create: () => new Promise((_resolve, reject) => (settle = reject)) } as unknown as KubeClient;
    const { lines, log } = debugLog();
    const recorded = recordCacheEvent(hanging, NS, { object: clone, reason: 'SnapshotTaken', message: 'm' }, log, { now: () => AT });
    await vi.advanceTimersByTimeAsync(2000);
    await expect(recorded).resolves.toBeUndefined();
    expect(lines).toEqual(['event SnapshotTaken on PersistentVolumeClaim runner-1-zfs-abc not recorded within 2000 ms; going on without it']);
    // A failure after the wait is still caught (no unhandled rejection), and logged.
    settle?.(new Error('socket closed'));
    await vi.advanceTimersByTimeAsync(0);
    expect(lines.at(-1)).toBe('event SnapshotTaken on PersistentVolumeClaim runner-1-zfs-abc not recorded: socket closed');
  });
});

describe('readCacheEvents', () => {
  it('lists the last events of one cache, oldest first', async () => {
    const fake = new FakeKube();
    const at = (s: number) => new Date(AT.getTime() + s * 1000);
    for (const [s, reason, cache] of [
      [3, 'Promoted', 'gcc12'],
      [1, 'CloneCreated', 'gcc12'],
      [2, 'CloneCreated', 'clang'],
      [2, 'SnapshotTaken', 'gcc12'],
    ] as const) {
      await fake.create(
        { type: { group: '', version: 'v1', plural: 'events', namespaced: true }, namespace: NS },
        buildCacheEvent(NS, { object: clone, reason, message: reason, cache }, at(s), undefined),
      );
    }
    expect((await readCacheEvents(fake, NS, 'gcc12')).map((e) => [e.at, e.reason, e.object])).toEqual([
      ['2025-06-01T12:34:57.000Z', 'CloneCreated', 'PersistentVolumeClaim/runner-1-zfs-abc'],
      ['2025-06-01T12:34:58.000Z', 'SnapshotTaken', 'PersistentVolumeClaim/runner-1-zfs-abc'],
      ['2025-06-01T12:34:59.000Z', 'Promoted', 'PersistentVolumeClaim/runner-1-zfs-abc'],
    ]);
    expect((await readCacheEvents(fake, NS, 'gcc12', 1)).map((e) => e.reason)).toEqual(['Promoted']);
  });
});
