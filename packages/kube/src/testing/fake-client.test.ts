import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExecStreamError, isAlreadyExists, isConflict, isGone, isNotFound, KubeConnectionError } from '../errors.js';
import { R } from '../resources.js';
import { watchUntil } from '../watch-until.js';
import { apiError, FakeKubeClient, type FakeObject } from './index.js';

const pods = { type: R.pods, namespace: 'ci' };
const pod = (name: string, labels: Record<string, string> = {}): FakeObject => ({ metadata: { name, labels }, status: { phase: 'Pending' } });
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('resolved, expected a rejection');
    },
    (e: unknown) => e as Error,
  );

afterEach(() => vi.useRealTimers());

describe('FakeKubeClient objects', () => {
  it('gives created objects a uid and a rising resourceVersion, and answers a second create 409 AlreadyExists', async () => {
    const fake = new FakeKubeClient();
    const a = await fake.create(pods, pod('a'));
    const b = await fake.create(pods, pod('b'));
    expect(a.metadata).toMatchObject({ name: 'a', namespace: 'ci', uid: expect.stringMatching(/^uid-/) });
    expect(Number(b.metadata?.resourceVersion)).toBeGreaterThan(Number(a.metadata?.resourceVersion));
    const err = await rejection(fake.create(pods, pod('a')));
    expect(isAlreadyExists(err)).toBe(true);
    expect(err.message).toContain('"a"');
  });

  it('names a generateName object and records the name in the call', async () => {
    const fake = new FakeKubeClient();
    const made = await fake.create(pods, { metadata: { generateName: 'job-' } } as FakeObject);
    expect(made.metadata?.name).toMatch(/^job-[0-9a-z]{5}$/);
    expect(fake.calls[0]).toMatchObject({ verb: 'create', plural: 'pods', name: made.metadata?.name });
  });

  it('answers a replace with a stale resourceVersion 409 Conflict, and keeps the uid across writes', async () => {
    const fake = new FakeKubeClient();
    const first = await fake.create(pods, pod('a'));
    const second = await fake.replace({ ...pods, name: 'a' }, { ...first, status: { phase: 'Running' } });
    expect(second.metadata?.uid).toBe(first.metadata?.uid);
    expect(isConflict(await rejection(fake.replace({ ...pods, name: 'a' }, first)))).toBe(true);
    const patched = await fake.patch<FakeObject>({ ...pods, name: 'a' }, { metadata: { labels: { x: '1' } }, status: null });
    expect(patched).toMatchObject({ metadata: { uid: first.metadata?.uid, labels: { x: '1' } } });
    expect(patched).not.toHaveProperty('status');
  });

  it('gets, finds and deletes by name: 404 NotFound, undefined and false when absent', async () => {
    const fake = new FakeKubeClient();
    expect(isNotFound(await rejection(fake.get({ ...pods, name: 'x' })))).toBe(true);
    expect(await fake.find({ ...pods, name: 'x' })).toBeUndefined();
    expect(await fake.delete({ ...pods, name: 'x' })).toBe(false);
    fake.put('pods', { metadata: { name: 'x', namespace: 'ci' } });
    expect(await fake.delete({ ...pods, name: 'x' })).toBe(true);
    expect(fake.requests).toEqual(['GET pods', 'GET pods', 'DELETE pods', 'DELETE pods']);
  });

  it('lists by label selector (=, !=, exists, !exists) and field selector', async () => {
    const fake = new FakeKubeClient();
    await fake.create(pods, pod('a', { role: 'job', runner: 'r1' }));
    await fake.create(pods, pod('b', { role: 'step' }));
    await fake.create({ type: R.pods, namespace: 'other' }, pod('c', { role: 'job' }));
    const names = async (o: { labelSelector?: string; fieldSelector?: string }) => (await fake.list<FakeObject>(pods, o)).items.map((p) => p.metadata?.name);
    expect(await names({ labelSelector: 'role=job' })).toEqual(['a']);
    expect(await names({ labelSelector: 'role!=job' })).toEqual(['b']);
    expect(await names({ labelSelector: 'runner' })).toEqual(['a']);
    expect(await names({ labelSelector: '!runner' })).toEqual(['b']);
    expect(await names({ fieldSelector: 'metadata.name=b' })).toEqual(['b']);
    await expect(names({ labelSelector: 'role in (job)' })).rejects.toThrow('not supported');
  });
});

describe('FakeKubeClient faults', () => {
  it('fails the next call of a verb on a resource with the API error the real client makes, once', async () => {
    const fake = new FakeKubeClient();
    fake.failNext('create', 'pods', apiError(503));
    const err = await rejection(fake.create(pods, pod('a')));
    expect(err).toMatchObject({ status: 503, code: 'SERVER_ERROR', verb: 'create', resource: 'pods' });
    expect(fake.store.size).toBe(0);
    await fake.create(pods, pod('a'));
    expect(fake.calls.map((c) => c.error === undefined)).toEqual([false, true]);
  });

  it('after a write when asked (an answer lost), and throws an Error as it is', async () => {
    const fake = new FakeKubeClient();
    const lost = new KubeConnectionError('https://api', 'read ECONNRESET');
    fake.failNext('create', 'pods', lost, { after: true });
    expect(await rejection(fake.create(pods, pod('a')))).toBe(lost);
    expect(fake.store.has('pods/ci/a')).toBe(true);
  });

  it('answers 404 for every request on a resource the server does not have', async () => {
    const fake = new FakeKubeClient();
    fake.missingResources.add('zfspromotes');
    const ref = { type: { group: 'zfs.openebs.io', version: 'v1', plural: 'zfspromotes', namespaced: true }, namespace: 'ci', name: 'x' };
    expect(isNotFound(await rejection(fake.find(ref)))).toBe(true);
  });
});

describe('FakeKubeClient watches', () => {
  it('delivers the changes after its resourceVersion, then later writes, until the handler stops it', async () => {
    const fake = new FakeKubeClient();
    const a = await fake.create(pods, pod('a'));
    await fake.replace({ ...pods, name: 'a' }, { ...a, status: { phase: 'Running' } });
    const seen: string[] = [];
    const done = fake.watch<FakeObject>(
      pods,
      (e) => {
        seen.push(`${e.type} ${e.object.metadata?.name} ${(e.object.status as { phase: string }).phase}`);
        return e.type === 'DELETED';
      },
      { resourceVersion: a.metadata?.resourceVersion },
    );
    await fake.delete({ ...pods, name: 'a' });
    expect(await done).toMatchObject({ metadata: { name: 'a' } });
    expect(seen).toEqual(['MODIFIED a Running', 'DELETED a Running']);
    expect(fake.openWatches()).toBe(0);
  });

  it('starts a watch without a version with the objects there are', async () => {
    const fake = new FakeKubeClient();
    await fake.create(pods, pod('a', { app: 'x' }));
    await fake.create(pods, pod('b'));
    const seen: string[] = [];
    const done = fake.watch<FakeObject>(pods, (e) => void seen.push(`${e.type} ${e.object.metadata?.name}`), { labelSelector: 'app=x' });
    fake.endWatches('pods');
    expect(await done).toBeUndefined();
    expect(seen).toEqual(['ADDED a']);
  });

  it('answers 410 Gone to a version older than a compaction, and breaks open watches on request', async () => {
    const fake = new FakeKubeClient();
    const a = await fake.create(pods, pod('a'));
    await fake.create(pods, pod('b'));
    fake.compact();
    expect(isGone(await rejection(fake.watch(pods, () => undefined, { resourceVersion: a.metadata?.resourceVersion })))).toBe(true);
    const open = fake.watch(pods, () => undefined);
    fake.breakWatches('pods', apiError(410));
    expect(isGone(await rejection(open))).toBe(true);
  });

  it('ends a watch when its signal aborts', async () => {
    const fake = new FakeKubeClient();
    const stop = new AbortController();
    const done = fake.watch(pods, () => undefined, { signal: stop.signal });
    stop.abort();
    expect(await done).toBeUndefined();
  });

  it('drives watchUntil through a 410: it lists again and sees the object as it is', async () => {
    const fake = new FakeKubeClient();
    const created = await fake.create(pods, pod('job-1'));
    fake.put('pods', { ...created, status: { phase: 'Running' } });
    fake.compact();
    const running = await watchUntil<FakeObject>(
      fake,
      { ...pods, name: 'job-1' },
      {
        from: { resourceVersion: created.metadata?.resourceVersion ?? '' },
        onEvent: ({ object }) => ((object.status as { phase: string }).phase === 'Running' ? object : undefined),
      },
    );
    expect(running.metadata?.name).toBe('job-1');
    expect(fake.calls.map((c) => `${c.verb} ${c.resourceVersion ?? ''}`.trim())).toEqual(['create', 'watch ' + created.metadata?.resourceVersion, 'list']);
  });
});

describe('FakeKubeClient exec and logs', () => {
  const target = { namespace: 'ci', pod: 'job-1', container: 'job' };

  it('answers an exec from its script with the exit code and output, and records what stdin sent', async () => {
    const fake = new FakeKubeClient();
    fake.onExec('tar', { exitCode: 2, stdout: 'out', stderr: 'err' }, { times: 1 });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const result = await fake.exec({ ...target, command: ['tar', '-xf', '-'], stdin: 'archive', stdout, stderr });
    expect(result.exitCode).toBe(2);
    expect([String(stdout.read()), String(stderr.read())]).toEqual(['out', 'err']);
    expect(fake.calls[0]).toMatchObject({ verb: 'exec', name: 'job-1', container: 'job', command: ['tar', '-xf', '-'], stdin: Buffer.from('archive') });
    await expect(fake.exec({ ...target, command: ['tar'] })).rejects.toThrow('no exec scripted');
  });

  it('loses a stream (EXEC_STREAM_LOST) and holds one until its signal aborts', async () => {
    const fake = new FakeKubeClient();
    fake.onExec(/sleep/, { hang: true }).onExec(() => true, { lost: true });
    expect(await rejection(fake.exec({ ...target, command: ['make'] }))).toBeInstanceOf(ExecStreamError);
    const stop = new AbortController();
    const held = fake.exec({ ...target, command: ['sleep', '100'], signal: stop.signal });
    stop.abort();
    expect(await rejection(held)).toMatchObject({ code: 'EXEC_ABORTED' });
  });

  it('answers logs from its script by container, an empty log otherwise', async () => {
    const fake = new FakeKubeClient();
    fake.onLogs('job', { text: 'zrh-os: other\n' });
    expect(await fake.logs({ ...target })).toBe('zrh-os: other\n');
    expect(await fake.logs({ ...target, container: 'step' })).toBe('');
  });
});
