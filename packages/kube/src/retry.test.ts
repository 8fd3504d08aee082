import { afterEach, describe, expect, it } from 'vitest';
import { isAlreadyExists, isConflict, KubeApiError, KubeConnectionError, type KubeError } from './errors.js';
import { reply, startFakeApi, type FakeApi } from './fixtures/fake-api.js';
import { parseRetryAfter } from './retry.js';
import { R } from './resources.js';

// The retry policy against a scripted API server on loopback: each test scripts the faults.

let fake: FakeApi;
afterEach(async () => fake?.close());

const FAST = { retry: { baseDelayMs: 5, maxDelayMs: 20 } };
const pods = { type: R.pods, namespace: 'ci' };
const pod = (name: string, extra: object = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ci', resourceVersion: '7', ...extra } });
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('resolved, expected a rejection');
    },
    (e: unknown) => e as KubeError,
  );

describe('retries of idempotent requests', () => {
  it('waits at least as long as Retry-After on 429, then returns the answer', async () => {
    fake = await startFakeApi();
    fake.script(reply.status(429, 'TooManyRequests', 'Too many requests, please try again later.', { 'Retry-After': '1' }), reply.json(200, pod('a')));
    const client = fake.client(FAST);
    const started = Date.now();
    await expect(client.get({ ...pods, name: 'a' })).resolves.toMatchObject({ metadata: { name: 'a' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(fake.seen.map((s) => `${s.method} ${s.path}`)).toEqual(['GET /api/v1/namespaces/ci/pods/a', 'GET /api/v1/namespaces/ci/pods/a']);
  });

  it('caps a long Retry-After at maxRetryAfterMs', async () => {
    fake = await startFakeApi();
    fake.script(reply.status(429, 'TooManyRequests', 'slow down', { 'Retry-After': '3600' }), reply.json(200, pod('a')));
    const client = fake.client({ retry: { maxRetryAfterMs: 50 } });
    await expect(client.get({ ...pods, name: 'a' })).resolves.toMatchObject({ metadata: { name: 'a' } });
  });

  it('rides out a burst of 503s and counts the retries by request kind', async () => {
    fake = await startFakeApi();
    const unavailable = () => reply.status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
    fake.script(unavailable(), unavailable(), unavailable(), reply.json(200, { metadata: { resourceVersion: '9' }, items: [pod('a')] }));
    const client = fake.client(FAST);
    const list = await client.list(pods);
    expect(list.items).toHaveLength(1);
    expect(client.stats.byKind.get('GET pods')).toBe(4);
    expect(client.stats.total).toBe(4);
    expect(client.stats.retries).toBe(3);
    expect(Object.fromEntries(client.stats.recoveries ?? [])).toEqual({ 'RETRY GET pods': 3 });
  });

  it.each([500, 502, 504])('retries a GET answered %i', async (code) => {
    fake = await startFakeApi();
    fake.script(reply.status(code, 'InternalError', 'etcd leader changed'), reply.json(200, pod('a')));
    await expect(fake.client(FAST).get({ ...pods, name: 'a' })).resolves.toMatchObject({ metadata: { name: 'a' } });
    expect(fake.seen).toHaveLength(2);
  });

  it('sends a GET again when the connection drops before the response', async () => {
    fake = await startFakeApi();
    fake.script(reply.reset(), reply.json(200, pod('a')));
    await expect(fake.client(FAST).get({ ...pods, name: 'a' })).resolves.toMatchObject({ metadata: { name: 'a' } });
    expect(fake.seen).toHaveLength(2);
  });

  it('sends a GET again when the server does not answer within requestTimeoutMs', async () => {
    fake = await startFakeApi();
    fake.script(reply.hang(), reply.json(200, pod('a')));
    await expect(fake.client({ ...FAST, requestTimeoutMs: 100 }).get({ ...pods, name: 'a' })).resolves.toMatchObject({ metadata: { name: 'a' } });
    expect(fake.seen).toHaveLength(2);
  });

  it('does not send a JSON patch again after a reset (an append would happen twice)', async () => {
    fake = await startFakeApi();
    fake.script(reply.reset());
    const err = await rejection(fake.client(FAST).patch({ ...pods, name: 'a' }, [{ op: 'add', path: '/metadata/finalizers/-', value: 'x' }], 'json'));
    expect(err).toBeInstanceOf(KubeConnectionError);
    expect(fake.seen).toHaveLength(1);
  });

  it('sends a DELETE and a merge PATCH again after a reset', async () => {
    fake = await startFakeApi();
    fake.script(reply.reset(), reply.json(200, { kind: 'Status', status: 'Success' }), reply.reset(), reply.json(200, pod('a', { labels: { x: '1' } })));
    const client = fake.client(FAST);
    await expect(client.delete({ ...pods, name: 'a' })).resolves.toBe(true);
    await expect(client.patch({ ...pods, name: 'a' }, { metadata: { labels: { x: '1' } } })).resolves.toMatchObject({ metadata: { labels: { x: '1' } } });
    expect(fake.seen.map((s) => s.method)).toEqual(['DELETE', 'DELETE', 'PATCH', 'PATCH']);
  });

  it('does not retry an answer that will not change (404, 403, 422)', async () => {
    fake = await startFakeApi();
    fake.script(reply.status(404, 'NotFound', 'pods "a" not found'), reply.status(403, 'Forbidden', 'pods "a" is forbidden'));
    const client = fake.client(FAST);
    await expect(client.find({ ...pods, name: 'a' })).resolves.toBeUndefined();
    const err = await rejection(client.get({ ...pods, name: 'a' }));
    expect(err.code).toBe('FORBIDDEN');
    expect(err.message).not.toContain('gave up');
    expect(fake.seen).toHaveLength(2);
  });

  it('gives up at the deadline with the last status, the attempts and the time in the message', async () => {
    fake = await startFakeApi();
    for (let i = 0; i < 100; i++) fake.script(reply.status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
    const client = fake.client({ retry: { deadlineMs: 300, baseDelayMs: 20, maxDelayMs: 40 } });
    const err = await rejection(client.get({ ...pods, name: 'a' }));
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(503);
    expect(err.code).toBe('SERVER_ERROR');
    expect(err.message).toMatch(
      /^get pods "a" failed: the server is currently unable to handle the request \(HTTP 503\); gave up after (\d+) attempts in 0\.\d s$/,
    );
    const attempts = Number(/after (\d+) attempts/.exec(err.message)?.[1]);
    expect(attempts).toBe(fake.seen.length);
    expect(attempts).toBeGreaterThan(1);
  });

  it('gives up after maxAttempts, keeping a connection error and its hint', async () => {
    fake = await startFakeApi();
    fake.script(reply.reset(), reply.reset(), reply.reset(), reply.reset());
    const client = fake.client({ retry: { maxAttempts: 3, baseDelayMs: 5 } });
    const err = await rejection(client.get({ ...pods, name: 'a' }));
    expect(err).toBeInstanceOf(KubeConnectionError);
    expect(err.message).toMatch(
      /^cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ \(ECONNRESET\): socket hang up; gave up after 3 attempts in \d+\.\d s\. Check that the API server is running/,
    );
    expect(fake.seen).toHaveLength(3);
  });

  it('turns retries off with maxAttempts 1', async () => {
    fake = await startFakeApi();
    fake.script(reply.status(503, 'ServiceUnavailable', 'unavailable'));
    const err = await rejection(fake.client({ retry: { maxAttempts: 1 } }).get({ ...pods, name: 'a' }));
    expect(err.message).toBe('get pods "a" failed: unavailable (HTTP 503); gave up after 1 attempt in 0.0 s');
    expect(fake.seen).toHaveLength(1);
  });
});

const RUNNER_UID = 'uid-runner-1';
const owned = (name: string, labels: Record<string, string>, uid = RUNNER_UID) =>
  pod(name, { labels, ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'runner', uid, controller: true }] });

describe('create', () => {
  it('adopts its own object when the first attempt was committed but its answer lost', async () => {
    fake = await startFakeApi();
    const body = owned('job-1', { app: 'zrh', run: '42' });
    const stored = { ...body, metadata: { ...body.metadata, uid: 'uid-job-1', resourceVersion: '100' } };
    // The server stores the pod, then the connection drops before the answer.
    fake.script(reply.reset(), reply.status(409, 'AlreadyExists', 'pods "job-1" already exists'), reply.json(200, stored));
    const client = fake.client(FAST);
    await expect(client.create(pods, body)).resolves.toEqual(stored);
    expect(fake.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'POST /api/v1/namespaces/ci/pods',
      'POST /api/v1/namespaces/ci/pods',
      'GET /api/v1/namespaces/ci/pods/job-1',
    ]);
    expect(JSON.parse(fake.seen[1]?.body ?? '')).toEqual(body);
    expect(client.stats.recoveries?.get('ADOPT POST pods')).toBe(1);
  });

  it.each([
    [
      'another owner',
      owned('job-1', { app: 'zrh', run: '42' }, 'uid-other-runner'),
      "its owners (uid uid-other-runner) are not the request's (uid uid-runner-1)",
    ],
    ['other labels', owned('job-1', { app: 'zrh', run: '41' }), 'its label run is "41", not "42"'],
    ['a missing label', owned('job-1', { app: 'zrh' }), 'its label run is missing, not "42"'],
  ])('does not adopt an object with %s', async (_what, existing, why) => {
    fake = await startFakeApi();
    fake.script(reply.reset(), reply.status(409, 'AlreadyExists', 'pods "job-1" already exists'), reply.json(200, existing));
    const err = await rejection(fake.client(FAST).create(pods, owned('job-1', { app: 'zrh', run: '42' })));
    expect(isAlreadyExists(err)).toBe(true);
    expect(err.message).toBe(
      `pods "job-1" in namespace "ci" already exists, and this create was sent 2 times (an earlier attempt's answer was lost), so whether this request made it cannot be told: ${why} (HTTP 409). Delete the object if it is a leftover of an earlier run, then try again`,
    );
  });

  it('takes a 409 to a retry of a uniquely named create as its own, without reading the object (a Secret the caller may not read)', async () => {
    fake = await startFakeApi();
    const body = owned('runner-reg-3f9a2c', { app: 'zrh' });
    fake.script(reply.reset(), reply.status(409, 'AlreadyExists', 'pods "runner-reg-3f9a2c" already exists'));
    const client = fake.client(FAST);
    await expect(client.create(pods, body, undefined, { uniqueName: true })).resolves.toEqual(body);
    expect(fake.seen.map((s) => s.method)).toEqual(['POST', 'POST']);
    expect(client.stats.recoveries?.get('ADOPT POST pods')).toBe(1);
  });

  it('a uniquely named create still returns a 409 on its first attempt unchanged', async () => {
    fake = await startFakeApi();
    fake.script(reply.status(409, 'AlreadyExists', 'pods "runner-reg-3f9a2c" already exists'));
    const err = await rejection(fake.client(FAST).create(pods, owned('runner-reg-3f9a2c', { app: 'zrh' }), undefined, { uniqueName: true }));
    expect(isAlreadyExists(err)).toBe(true);
    expect(fake.seen).toHaveLength(1);
  });

  it('does not adopt when the request has no owner reference to compare', async () => {
    fake = await startFakeApi();
    const body = pod('head', { labels: { cache: 'gcc' } });
    fake.script(reply.reset(), reply.status(409, 'AlreadyExists', 'configmaps "head" already exists'), reply.json(200, body));
    const err = await rejection(fake.client(FAST).create(pods, body));
    expect(isAlreadyExists(err)).toBe(true);
    expect(err.message).toContain('cannot be told: the request has no owner reference that could show the object is its own');
  });

  it('returns a 409 on the first attempt unchanged (a create-if-absent that lost)', async () => {
    fake = await startFakeApi();
    fake.script(reply.status(409, 'AlreadyExists', 'pods "job-1" already exists'));
    const err = await rejection(fake.client(FAST).create(pods, owned('job-1', { app: 'zrh' })));
    expect(isAlreadyExists(err)).toBe(true);
    expect(err.message).toBe('pods "job-1" already exists in namespace "ci" (HTTP 409)');
    expect(fake.seen).toHaveLength(1);
  });

  it('does not send a generateName create again after a reset: it may have been made', async () => {
    fake = await startFakeApi();
    fake.script(reply.reset(), reply.json(201, pod('job-abcde')));
    const client = fake.client(FAST);
    const err = await rejection(client.create(pods, { metadata: { generateName: 'job-' } }));
    expect(err).toBeInstanceOf(KubeConnectionError);
    expect(err.message).not.toContain('gave up');
    expect(fake.seen).toHaveLength(1);
  });

  it('sends a generateName create again after 429 and 503 (refused before anything was done), not after 500', async () => {
    fake = await startFakeApi();
    fake.script(
      reply.status(429, 'TooManyRequests', 'slow down', { 'Retry-After': '0' }),
      reply.status(503, 'ServiceUnavailable', 'unavailable'),
      reply.json(201, pod('job-abcde')),
      reply.status(500, 'InternalError', 'boom'),
    );
    const client = fake.client(FAST);
    await expect(client.create(pods, { metadata: { generateName: 'job-' } })).resolves.toMatchObject({ metadata: { name: 'job-abcde' } });
    expect((await rejection(client.create(pods, { metadata: { generateName: 'job-' } }))).code).toBe('SERVER_ERROR');
    expect(fake.seen).toHaveLength(4);
  });

  it('does not send a subresource create (a token request) again after a reset', async () => {
    fake = await startFakeApi();
    fake.script(reply.reset());
    const err = await rejection(fake.client(FAST).create({ type: R.serviceAccounts, namespace: 'ci', name: 'runner', subresource: 'token' }, { spec: {} }));
    expect(err).toBeInstanceOf(KubeConnectionError);
    expect(fake.seen).toHaveLength(1);
  });
});

describe('replace with a resourceVersion (compare-and-swap)', () => {
  const head = (rv: string, snapshot: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'head', namespace: 'ci', resourceVersion: rv, labels: { cache: 'gcc' } },
    data: { snapshot },
  });
  const cms = { type: R.configMaps, namespace: 'ci', name: 'head' };

  it('returns the object when a retry meets the write its lost first attempt made', async () => {
    fake = await startFakeApi();
    fake.script(
      reply.reset(),
      reply.status(409, 'Conflict', 'Operation cannot be fulfilled on configmaps "head": the object has been modified'),
      reply.json(200, head('8', 'snap-2')),
    );
    const client = fake.client(FAST);
    await expect(client.replace(cms, head('7', 'snap-2'))).resolves.toEqual(head('8', 'snap-2'));
    expect(client.stats.recoveries?.get('ADOPT PUT configmaps')).toBe(1);
  });

  it("keeps the conflict when the object holds someone else's write", async () => {
    fake = await startFakeApi();
    fake.script(
      reply.reset(),
      reply.status(409, 'Conflict', 'Operation cannot be fulfilled on configmaps "head": the object has been modified'),
      reply.json(200, head('8', 'snap-other')),
    );
    const err = await rejection(fake.client(FAST).replace(cms, head('7', 'snap-2')));
    expect(isConflict(err)).toBe(true);
  });

  it('keeps a conflict on the first attempt without reading the object', async () => {
    fake = await startFakeApi();
    fake.script(reply.status(409, 'Conflict', 'Operation cannot be fulfilled on configmaps "head": the object has been modified'));
    expect(isConflict(await rejection(fake.client(FAST).replace(cms, head('7', 'snap-2'))))).toBe(true);
    expect(fake.seen).toHaveLength(1);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['3', 3],
    [' 0 ', 0],
    ['Thu, 01 Jan 2026 00:00:10 GMT', 10],
    ['soon', undefined],
    [undefined, undefined],
  ])('reads %j as %j seconds', (value, expected) => {
    expect(parseRetryAfter(value, Date.parse('2026-01-01T00:00:00Z'))).toBe(expected);
  });
});
