import { afterEach, describe, expect, it } from 'vitest';
import type { KubeError } from './errors.js';
import { errorEvent, reply, startFakeApi, type FakeApi } from './fixtures/fake-api.js';
import { R } from './resources.js';
import { watchUntil, type WatchUntilEvent } from './watch-until.js';

// watchUntil against a scripted API server on loopback: each test scripts how lists and watches
// answer, end, break or go silent, and checks what the wait saw and asked for.

let fake: FakeApi;
afterEach(async () => fake?.close());

interface Pod {
  metadata: { name: string; resourceVersion: string };
  status: { phase: string };
}
const pod = (rv: number, phase = 'Pending'): Pod => ({ metadata: { name: 'job-1', resourceVersion: String(rv) }, status: { phase } });
const list = (rv: number, items: Pod[]) => reply.json(200, { kind: 'PodList', metadata: { resourceVersion: String(rv) }, items });
const ev = (type: string, object: Pod) => ({ type, object });
const bookmark = (rv: number) => ({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(rv) } } });
const FAST = { retry: { baseDelayMs: 5, maxDelayMs: 20 } };
const jobPod = { type: R.pods, namespace: 'ci', name: 'job-1' };
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('resolved, expected a rejection');
    },
    (e: unknown) => e as KubeError,
  );

/** Waits for phase Running, recording what it saw. */
function untilRunning(log: string[]) {
  return (e: WatchUntilEvent<Pod>) => {
    log.push(`${e.type} ${e.object.metadata.resourceVersion} ${e.object.status.phase}`);
    return e.object.status.phase === 'Running' ? e.object : undefined;
  };
}

/** The requests as `LIST` or `WATCH rv=<resourceVersion>`. */
const requests = () => fake.seen.map((s) => (s.query.get('watch') === 'true' ? `WATCH rv=${s.query.get('resourceVersion') ?? ''}` : 'LIST'));

describe('watchUntil', () => {
  it("lists, delivers the listed objects, and watches from the list's version with bookmarks and a server timeout", async () => {
    fake = await startFakeApi();
    fake.script(list(10, [pod(5)]), reply.watch([ev('MODIFIED', pod(11, 'Running'))], 'hang'));
    const client = fake.client(FAST);
    const seen: string[] = [];
    const found = await watchUntil(client, jobPod, { onEvent: untilRunning(seen) });
    expect(found).toEqual(pod(11, 'Running'));
    expect(seen).toEqual(['SYNC 5 Pending', 'MODIFIED 11 Running']);
    expect(requests()).toEqual(['LIST', 'WATCH rv=10']);
    const watch = fake.seen[1]?.query;
    expect(watch?.get('fieldSelector')).toBe('metadata.name=job-1');
    expect(watch?.get('allowWatchBookmarks')).toBe('true');
    expect(watch?.get('timeoutSeconds')).toBe('60');
    expect(client.stats.rewatches ?? 0).toBe(0);
  });

  it('re-watches from the last version it saw (an event or a bookmark) when a stream ends', async () => {
    fake = await startFakeApi();
    fake.script(
      list(10, [pod(5)]),
      reply.watch([ev('MODIFIED', pod(11))]),
      reply.watch([bookmark(15)]),
      reply.watch([ev('MODIFIED', pod(16, 'Running'))], 'hang'),
    );
    const client = fake.client(FAST);
    const seen: string[] = [];
    await expect(watchUntil(client, jobPod, { onEvent: untilRunning(seen) })).resolves.toEqual(pod(16, 'Running'));
    expect(requests()).toEqual(['LIST', 'WATCH rv=10', 'WATCH rv=11', 'WATCH rv=15']);
    expect(seen).toEqual(['SYNC 5 Pending', 'MODIFIED 11 Pending', 'MODIFIED 16 Running']);
    expect(client.stats.rewatches).toBe(2);
    expect(client.stats.recoveries?.get('REWATCH pods')).toBe(2);
  });

  it('re-watches from the last version when the connection drops in the middle of a stream', async () => {
    fake = await startFakeApi();
    fake.script(list(10, []), reply.watch([ev('ADDED', pod(12))], 'reset'), reply.watch([ev('MODIFIED', pod(13, 'Running'))], 'hang'));
    await expect(watchUntil(fake.client(FAST), jobPod, { onEvent: untilRunning([]) })).resolves.toEqual(pod(13, 'Running'));
    expect(requests()).toEqual(['LIST', 'WATCH rv=10', 'WATCH rv=12']);
  });

  it.each([
    ['an ERROR event', reply.watch([errorEvent(410, 'Expired', 'too old resource version: 10 (20)')], 'hang')],
    ['an HTTP status', reply.status(410, 'Expired', 'too old resource version: 10 (20)')],
  ])('lists again on 410 Gone as %s, and watches from the new list', async (_how, gone) => {
    fake = await startFakeApi();
    fake.script(list(10, [pod(5)]), gone, list(30, [pod(25)]), reply.watch([ev('MODIFIED', pod(31, 'Running'))], 'hang'));
    const client = fake.client(FAST);
    const seen: string[] = [];
    await expect(watchUntil(client, jobPod, { onEvent: untilRunning(seen) })).resolves.toEqual(pod(31, 'Running'));
    expect(requests()).toEqual(['LIST', 'WATCH rv=10', 'LIST', 'WATCH rv=30']);
    expect(seen).toEqual(['SYNC 5 Pending', 'SYNC 25 Pending', 'MODIFIED 31 Running']);
    expect(client.stats.relists).toBe(1);
    expect(client.stats.rewatches ?? 0).toBe(0);
  });

  it('notices after a re-list that the object it waits on was deleted while no watch was open', async () => {
    fake = await startFakeApi();
    fake.script(list(10, [pod(5)]), reply.watch([errorEvent(410, 'Expired', 'too old resource version')], 'hang'), list(30, []));
    const listed: number[] = [];
    const err = await rejection(
      watchUntil(fake.client(FAST), jobPod, {
        onEvent: untilRunning([]),
        onListed: (objects) => {
          listed.push(objects.length);
          if (objects.length === 0) throw new Error('pod "job-1" was deleted while waiting for it');
          return undefined;
        },
      }),
    );
    expect(err.message).toBe('pod "job-1" was deleted while waiting for it');
    expect(listed).toEqual([1, 0]);
  });

  it('closes a watch that stays silent for idleTimeoutMs and watches again from the same version', async () => {
    fake = await startFakeApi();
    fake.script(list(10, [pod(5)]), reply.watch([], 'hang'), reply.watch([ev('MODIFIED', pod(11, 'Running'))], 'hang'));
    const client = fake.client(FAST);
    const started = Date.now();
    await expect(watchUntil(client, jobPod, { onEvent: untilRunning([]), idleTimeoutMs: 200 })).resolves.toEqual(pod(11, 'Running'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(requests()).toEqual(['LIST', 'WATCH rv=10', 'WATCH rv=10']);
    expect(client.stats.rewatches).toBe(1);
  });

  it('sends a watch request that gets no answer again after idleTimeoutMs', async () => {
    fake = await startFakeApi();
    fake.script(list(10, [pod(5)]), reply.hang(), reply.watch([ev('MODIFIED', pod(11, 'Running'))], 'hang'));
    const client = fake.client(FAST);
    await expect(watchUntil(client, jobPod, { onEvent: untilRunning([]), idleTimeoutMs: 200 })).resolves.toEqual(pod(11, 'Running'));
    expect(requests()).toEqual(['LIST', 'WATCH rv=10', 'WATCH rv=10']);
    expect(client.stats.recoveries?.get('RETRY WATCH pods')).toBe(1);
  });

  it('starts from a known object and version without a list', async () => {
    fake = await startFakeApi();
    fake.script(reply.watch([ev('MODIFIED', pod(8, 'Running'))], 'hang'));
    const seen: string[] = [];
    await watchUntil(fake.client(FAST), jobPod, { onEvent: untilRunning(seen), from: { resourceVersion: '7', objects: [pod(7)] } });
    expect(requests()).toEqual(['WATCH rv=7']);
    expect(seen).toEqual(['SYNC 7 Pending', 'MODIFIED 8 Running']);
  });

  it('finishes from the starting object alone when it already meets the goal', async () => {
    fake = await startFakeApi();
    await expect(
      watchUntil(fake.client(FAST), jobPod, { onEvent: untilRunning([]), from: { resourceVersion: '7', objects: [pod(7, 'Running')] } }),
    ).resolves.toEqual(pod(7, 'Running'));
    expect(fake.seen).toEqual([]);
  });

  it("never reads streams that keep ending as an outcome: the deadline rejects with the caller's error", async () => {
    fake = await startFakeApi();
    fake.script(list(10, [pod(5)]));
    fake.otherwise(reply.watch([]));
    const err = await rejection(
      watchUntil(fake.client(FAST), jobPod, {
        onEvent: untilRunning([]),
        timeoutMs: 300,
        // Built asynchronously, as a caller that adds the pod's recent events would.
        onDeadline: async () => new Error('Job pod "job-1" did not start within 0.3 s'),
      }),
    );
    expect(err.message).toBe('Job pod "job-1" did not start within 0.3 s');
    expect(requests().filter((r) => r.startsWith('WATCH')).length).toBeGreaterThan(1);
  });

  it('rejects at the deadline with WATCH_TIMEOUT by default, naming what it waited for', async () => {
    fake = await startFakeApi();
    fake.script(list(10, [pod(5)]), reply.watch([], 'hang'));
    const err = await rejection(
      watchUntil(fake.client(FAST), { type: R.pods, namespace: 'ci' }, { labelSelector: 'app=zrh', onEvent: () => undefined, timeoutMs: 100 }),
    );
    expect(err.code).toBe('WATCH_TIMEOUT');
    expect(err.message).toBe('pods (labels app=zrh) in namespace "ci" did not reach the expected state within 0.1 s');
  });

  it("rejects on abort with WATCH_ABORTED, or the caller's error, and closes the stream", async () => {
    fake = await startFakeApi();
    fake.script(list(10, [pod(5)]), reply.watch([], 'hang'), list(10, [pod(5)]), reply.watch([], 'hang'));
    const client = fake.client(FAST);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = await rejection(watchUntil(client, jobPod, { onEvent: untilRunning([]), signal: ac.signal }));
    expect(err.code).toBe('WATCH_ABORTED');
    expect(err.message).toBe('stopped waiting for pods "job-1" in namespace "ci"');

    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 100);
    await expect(watchUntil(client, jobPod, { onEvent: untilRunning([]), signal: ac2.signal, onAbort: () => new Error('cancelled') })).rejects.toThrow(
      'cancelled',
    );
    await expect(watchUntil(client, jobPod, { onEvent: untilRunning([]), signal: ac2.signal })).rejects.toMatchObject({ code: 'WATCH_ABORTED' });
    expect(requests()).toEqual(['LIST', 'WATCH rv=10', 'LIST', 'WATCH rv=10']);
  });

  it('calls onWake at wakeAt while the watch is silent, and finishes with its value', async () => {
    fake = await startFakeApi();
    fake.script(list(10, [pod(5)]), reply.watch([], 'hang'));
    const started = Date.now();
    const found = await watchUntil(fake.client(FAST), jobPod, {
      onEvent: () => undefined,
      wakeAt: () => started + 150,
      onWake: () => (Date.now() - started >= 150 ? 'grace over' : undefined),
    });
    expect(found).toBe('grace over');
  });

  it("fails with the callback's error and stops watching", async () => {
    fake = await startFakeApi();
    fake.script(list(10, [pod(5)]), reply.watch([ev('MODIFIED', pod(11, 'Failed')), ev('MODIFIED', pod(12, 'Running'))], 'hang'));
    const seen: string[] = [];
    const err = await rejection(
      watchUntil<Pod>(fake.client(FAST), jobPod, {
        onEvent: (e) => {
          seen.push(e.object.status.phase);
          if (e.object.status.phase === 'Failed') throw new Error('pod failed');
          return undefined;
        },
      }),
    );
    expect(err.message).toBe('pod failed');
    expect(seen).toEqual(['Pending', 'Failed']);
  });

  it('rejects when the watch request itself is refused (403), instead of watching again', async () => {
    fake = await startFakeApi();
    fake.script(list(10, [pod(5)]), reply.status(403, 'Forbidden', 'pods is forbidden: User "x" cannot watch resource "pods"'));
    const err = await rejection(watchUntil(fake.client(FAST), jobPod, { onEvent: untilRunning([]) }));
    expect(err.code).toBe('FORBIDDEN');
    expect(err.message).toMatch(/^forbidden: cannot watch pods in namespace "ci" \(HTTP 403\)/);
  });

  it('opens the watch through the retry policy (a 503 before it opens)', async () => {
    fake = await startFakeApi();
    fake.script(list(10, [pod(5)]), reply.status(503, 'ServiceUnavailable', 'unavailable'), reply.watch([ev('MODIFIED', pod(11, 'Running'))], 'hang'));
    const client = fake.client(FAST);
    await expect(watchUntil(client, jobPod, { onEvent: untilRunning([]) })).resolves.toEqual(pod(11, 'Running'));
    expect(requests()).toEqual(['LIST', 'WATCH rv=10', 'WATCH rv=10']);
    expect(client.stats.recoveries?.get('RETRY WATCH pods')).toBe(1);
  });
});
