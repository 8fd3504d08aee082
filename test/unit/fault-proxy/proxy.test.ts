import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../fault-proxy/proxy.js';
import { committedCreates, requestTypes } from '../../fault-proxy/request-log.js';
import { openStream, openUpgrade, send, type Target } from './client.js';
import { EXEC_FRAMES, STREAM_EVENTS, startFakeApiServer, wsFrame, type FakeApiServer } from './fake-api-server.js';

const PODS = '/api/v1/namespaces/ns/pods';
const TOKEN = { Authorization: 'Bearer the-clients-token' };
const errorCode = (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: NodeJS.ErrnoException) => e.code ?? e.message,
  );

describe('the fault proxy in front of an HTTPS API server', () => {
  let api: FakeApiServer;
  let proxy: FaultProxy;
  let target: Target;

  beforeAll(async () => {
    api = await startFakeApiServer();
  });
  afterAll(async () => {
    await api?.close();
  });

  const start = async (faults?: string) => {
    const ca = api.ca!;
    proxy = await startFaultProxy({ upstream: api.url, upstreamCa: ca.cert, signingCa: ca, ...(faults ? { faults } : {}) });
    target = { url: proxy.url, ca: ca.cert };
    api.received.length = 0;
    api.created.length = 0;
  };
  afterEach(async () => {
    await proxy?.close();
  });

  describe('without faults', () => {
    beforeEach(() => start());

    it('listens on 127.0.0.1 with a certificate the cluster CA vouches for, and forwards with the client’s own token', async () => {
      expect(proxy.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const answer = await send(target, 'GET', `${PODS}?labelSelector=a%3Db`, { headers: TOKEN });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ kind: 'PodList', seenAuthorization: 'Bearer the-clients-token' });
      expect(api.received.at(-1)).toMatchObject({ method: 'GET', url: `${PODS}?labelSelector=a%3Db` });
      expect(api.received.at(-1)?.headers.host).toBe(new URL(api.url).host);
    });

    it('forwards a create with its body and hands back the API server’s answer', async () => {
      const answer = await send(target, 'POST', PODS, { headers: { ...TOKEN, 'Content-Type': 'application/json' }, body: '{"metadata":{"name":"made"}}' });
      expect(answer.status).toBe(201);
      expect(api.created).toEqual([{ metadata: { name: 'made' } }]);
    });

    it('passes each watch event as it comes (the stream is not buffered until it ends)', async () => {
      const watch = await openStream(target, `${PODS}?watch=true`);
      await watch.lineCount(STREAM_EVENTS);
      expect(watch.lines.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(Array(STREAM_EVENTS).fill('ADDED'));
      // The API server's side is still open: the events arrived before any end.
      expect(api.received.at(-1)?.url).toBe(`${PODS}?watch=true`);
      watch.destroy();
      await api.received.at(-1)?.closed;
    });

    it('streams a followed log line by line', async () => {
      const log = await openStream(target, `${PODS}/p1/log?follow=true`);
      await log.lineCount(STREAM_EVENTS);
      expect(log.lines).toEqual(Array.from({ length: STREAM_EVENTS }, (_, i) => `log line ${i + 1}`));
      log.destroy();
    });

    it('forwards an exec upgrade with its subprotocols and pipes bytes both ways', async () => {
      const exec = await openUpgrade(target, `${PODS}/p1/exec?command=sh&stdin=true`, TOKEN);
      expect(exec.head['sec-websocket-protocol']).toBe('v5.channel.k8s.io');
      expect(api.received.at(-1)?.headers).toMatchObject({ authorization: 'Bearer the-clients-token', upgrade: 'websocket' });
      exec.socket.write('from the client');
      const frames = Buffer.concat(Array.from({ length: EXEC_FRAMES }, (_, i) => wsFrame(Buffer.from(`\x01frame ${String(i + 1).padStart(4, '0')}`))));
      await expect.poll(() => exec.received().length).toBe(frames.length + 'from the client'.length);
      expect(exec.received().toString()).toContain('from the client');
      exec.socket.destroy();
    });

    it('hands back a refused upgrade as the API server answered it', async () => {
      const refused = await openUpgrade(target, `${PODS}/other/exec?command=sh`).catch((e: { answer?: unknown }) => e.answer);
      expect(refused).toMatchObject({ status: 403, body: expect.stringContaining('"reason":"Forbidden"') });
    });

    it('records every request: method, path, query, type, status and outcome', async () => {
      await send(target, 'GET', `${PODS}?limit=5`);
      const exec = await openUpgrade(target, `${PODS}/p1/exec?command=ls&command=-l`);
      exec.socket.destroy();
      await exec.closed;
      await expect.poll(() => proxy.requests.at(-1)?.outcome).not.toBe('open');
      expect(
        proxy.requests.map(({ method, path, query, type, status, fault, outcome, command }) => ({
          method,
          path,
          query,
          type,
          status,
          fault,
          outcome,
          command,
        })),
      ).toEqual([
        { method: 'GET', path: PODS, query: { limit: '5' }, type: 'list pods', status: 200, fault: undefined, outcome: 'completed', command: [] },
        {
          method: 'GET',
          path: `${PODS}/p1/exec`,
          query: { command: '-l' },
          type: 'exec pods/exec',
          status: 101,
          fault: undefined,
          outcome: 'client-closed',
          command: ['ls', '-l'],
        },
      ]);
      expect(proxy.requests[0]?.at).toBeTypeOf('number');
      expect(requestTypes(proxy.requests)).toEqual(['list pods', 'exec pods/exec']);
    });
  });

  describe('status faults', () => {
    it('answers a 429 with Retry-After and a TooManyRequests Status without forwarding, as many times as asked', async () => {
      await start('429 retry-after=1 x2 on list pods');
      const first = await send(target, 'GET', PODS);
      const second = await send(target, 'GET', PODS);
      const third = await send(target, 'GET', PODS);
      expect([first.status, second.status, third.status]).toEqual([429, 429, 200]);
      expect(first.headers['retry-after']).toBe('1');
      expect(JSON.parse(first.body)).toMatchObject({ kind: 'Status', code: 429, reason: 'TooManyRequests', details: { retryAfterSeconds: 1 } });
      expect(api.received).toHaveLength(1);
      expect(proxy.requests.map((r) => r.fault)).toEqual(['429 retry-after=1 x2 on list pods', '429 retry-after=1 x2 on list pods', undefined]);
    });

    it.each([
      [503, 'ServiceUnavailable'],
      [500, 'InternalError'],
    ])('answers %i with a %s Status', async (status, reason) => {
      await start(`${status} on GET`);
      const answer = await send(target, 'GET', PODS);
      expect(answer.status).toBe(status);
      expect(JSON.parse(answer.body)).toMatchObject({ kind: 'Status', code: status, reason });
      expect(api.received).toHaveLength(0);
    });

    it('refuses an exec upgrade with a status, on the raw connection', async () => {
      await start('429 retry-after=2 on exec');
      const refused = await openUpgrade(target, `${PODS}/p1/exec?command=sh`).catch((e: { answer?: unknown }) => e.answer);
      expect(refused).toMatchObject({ status: 429, headers: { 'retry-after': '2' }, body: expect.stringContaining('"reason":"TooManyRequests"') });
      expect(api.received).toHaveLength(0);
    });
  });

  describe('resets', () => {
    it('reset: the client’s connection is reset after the request was read, and the API server never sees it', async () => {
      await start('reset on create pods');
      expect(await errorCode(send(target, 'POST', PODS, { body: '{"metadata":{"name":"lost"}}' }))).toBe('ECONNRESET');
      expect(api.created).toEqual([]);
      expect(proxy.requests[0]).toMatchObject({ type: 'create pods', outcome: 'reset', status: undefined, upstreamStatus: undefined });
    });

    it('reset-after-commit: the API server creates the object, the client only sees its connection reset', async () => {
      await start('reset-after-commit x1 on create pods');
      expect(await errorCode(send(target, 'POST', PODS, { body: '{"metadata":{"name":"made-unseen"}}' }))).toBe('ECONNRESET');
      expect(api.created).toEqual([{ metadata: { name: 'made-unseen' } }]);
      expect(proxy.requests[0]).toMatchObject({ outcome: 'reset', status: undefined, upstreamStatus: 201 });
      expect(Object.fromEntries(committedCreates(proxy.requests))).toEqual({ pods: 1 });
      expect((await send(target, 'POST', PODS, { body: '{"metadata":{"name":"second"}}' })).status).toBe(201);
      expect(Object.fromEntries(committedCreates(proxy.requests))).toEqual({ pods: 2 });
    });

    it('reset-after-commit on an exec: the upgrade reaches the API server, the client’s connection is reset', async () => {
      await start('reset-after-commit on exec pods/exec');
      expect(await errorCode(openUpgrade(target, `${PODS}/p1/exec?command=sh`))).toBe('ECONNRESET');
      expect(api.received).toHaveLength(1);
      expect(proxy.requests[0]).toMatchObject({ outcome: 'reset', upstreamStatus: 101 });
    });
  });

  describe('stream faults', () => {
    it('cut-stream after-events: a watch gets that many events, then its connection closes in the middle of the body', async () => {
      await start('cut-stream after-events=2 on watch pods');
      const watch = await openStream(target, `${PODS}?watch=true`);
      expect(await watch.ended).toBe('error');
      expect(watch.lines).toHaveLength(2);
      expect(proxy.requests[0]).toMatchObject({ type: 'watch pods', outcome: 'cut', status: 200 });
      await api.received[0]?.closed;
    });

    it('cut-stream mode=reset: the watch’s connection is reset', async () => {
      await start('cut-stream after-events=2 mode=reset on watch pods');
      const watch = await openStream(target, `${PODS}?watch=true`);
      expect(await watch.ended).toBe('error');
      expect(watch.lines.length).toBeLessThanOrEqual(2);
      expect(proxy.requests[0]).toMatchObject({ outcome: 'cut', bytes: expect.any(Number) });
    });

    it('cut-stream mode=close: the watch ends cleanly, as a watch the API server times out', async () => {
      await start('cut-stream after-events=1 mode=close on watch pods');
      const watch = await openStream(target, `${PODS}?watch=true`);
      expect(await watch.ended).toBe('end');
      expect(watch.lines).toHaveLength(1);
    });

    it('cut-stream after-bytes cuts in the middle of an event', async () => {
      await start('cut-stream after-bytes=10 on watch pods');
      const watch = await openStream(target, `${PODS}?watch=true`);
      expect(await watch.ended).toBe('error');
      expect(watch.lines).toEqual([]);
      expect(proxy.requests[0]?.bytes).toBe(10);
    });

    it('cut-stream after-ms cuts a followed log that is still streaming', async () => {
      await start('cut-stream after-ms=1 on get pods/log stream=follow');
      const log = await openStream(target, `${PODS}/p1/log?follow=true`);
      expect(await log.ended).toBe('error');
      expect(log.lines.length).toBeLessThan(STREAM_EVENTS);
      expect(proxy.requests[0]).toMatchObject({ type: 'get pods/log (follow)', outcome: 'cut' });
    });

    it('stall: the followed log stops after its lines while the client’s connection stays open', async () => {
      await start('stall after-events=2 on get pods/log stream=follow');
      const log = await openStream(target, `${PODS}/p1/log?follow=true`);
      await log.lineCount(2);
      // The API server's side is let go; the client's side is not.
      await api.received[0]?.closed;
      expect(proxy.requests[0]?.outcome).toBe('stalled');
      const settled = await Promise.race([log.ended, new Promise((r) => setTimeout(() => r('still open'), 100))]);
      expect(settled).toBe('still open');
      expect(log.lines).toEqual(['log line 1', 'log line 2']);
      log.destroy();
      await expect.poll(() => proxy.requests[0]?.endedAt).toBeTypeOf('number');
    });

    it('gone: a watch from a resourceVersion gets one ERROR event with a 410 Status', async () => {
      await start('gone on watch pods');
      const watch = await openStream(target, `${PODS}?watch=true&resourceVersion=42`);
      expect(watch.status).toBe(200);
      expect(await watch.ended).toBe('end');
      expect(watch.lines.map((l) => JSON.parse(l) as unknown)).toEqual([
        { type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 42' }) },
      ]);
      expect(api.received).toHaveLength(0);
    });

    it('gone leaves a watch without a resourceVersion alone (it cannot be too old)', async () => {
      await start('gone on watch pods');
      const watch = await openStream(target, `${PODS}?watch=true`);
      await watch.lineCount(1);
      expect(JSON.parse(watch.lines[0] ?? '')).toMatchObject({ type: 'ADDED' });
      expect(proxy.faults[0]?.seen).toBe(0);
      watch.destroy();
    });

    it('gone as=status answers HTTP 410', async () => {
      await start('gone as=status on watch pods');
      const answer = await send(target, 'GET', `${PODS}?watch=1&resourceVersion=9`);
      expect(answer.status).toBe(410);
      expect(JSON.parse(answer.body)).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    });
  });

  describe('drop-exec', () => {
    it('after-bytes: the client gets exactly that many bytes from the server, then both connections close without a close frame', async () => {
      await start('drop-exec after-bytes=30 on exec');
      const exec = await openUpgrade(target, `${PODS}/p1/exec?command=sh`);
      expect(await exec.closed).toBe('end');
      expect(exec.received()).toHaveLength(30);
      await api.received[0]?.closed;
      expect(proxy.requests[0]).toMatchObject({ outcome: 'cut', status: 101, bytes: 30 });
    });

    it('after-ms: the exec is dropped while it runs', async () => {
      await start('drop-exec after-ms=1 on exec');
      const exec = await openUpgrade(target, `${PODS}/p1/exec?command=sh`);
      expect(await exec.closed).toBe('end');
      expect(exec.received().length).toBeLessThan(EXEC_FRAMES * wsFrame(Buffer.from('\x01frame 0001')).length);
      expect(proxy.requests[0]?.outcome).toBe('cut');
    });
  });

  describe('rules at run time', () => {
    it('faults added and cleared while the proxy runs take effect on the next request', async () => {
      await start();
      expect((await send(target, 'GET', PODS)).status).toBe(200);
      const [rule] = proxy.addFaults('503 on list pods');
      expect((await send(target, 'GET', PODS)).status).toBe(503);
      expect(rule?.hits).toBe(1);
      proxy.clearFaults();
      expect((await send(target, 'GET', PODS)).status).toBe(200);
      const [again] = proxy.addFaults({ fault: { kind: 'status', status: 500 }, match: { verb: 'create' } });
      expect((await send(target, 'GET', PODS)).status).toBe(200);
      expect((await send(target, 'POST', PODS, { body: '{}' })).status).toBe(500);
      again?.remove();
      expect(proxy.faults).toEqual([]);
    });

    it('refuses an invalid script before it starts, naming every problem', async () => {
      await expect(startFaultProxy({ upstream: api.url, signingCa: api.ca!, faults: '42x on pods\nstall on watch pods' })).rejects.toThrow(
        /line 1: unknown fault "42x"[\s\S]*line 2: stall needs after-bytes, after-events or after-ms/,
      );
    });
  });

  it('close() drops open streams, stops listening and removes its certificate', async () => {
    const before = new Set((await readdir(tmpdir())).filter((n) => n.startsWith('zrh-fault-proxy-')));
    await start();
    const dirs = (await readdir(tmpdir())).filter((n) => n.startsWith('zrh-fault-proxy-') && !before.has(n));
    expect(dirs).toHaveLength(1);
    const watch = await openStream(target, `${PODS}?watch=true`);
    await watch.lineCount(1);
    await proxy.close();
    expect(await watch.ended).toBe('error');
    await api.received[0]?.closed;
    expect(await errorCode(send(target, 'GET', PODS))).toBe('ECONNREFUSED');
    expect(existsSync(`${tmpdir()}/${dirs[0] ?? ''}`)).toBe(false);
  });
});

describe('the fault proxy in front of a plain HTTP API server', () => {
  it('forwards and injects faults the same way', async () => {
    const api = await startFakeApiServer(false);
    const { createCertificateAuthority } = await import('../../fault-proxy/certificates.js');
    const ca = await createCertificateAuthority();
    const proxy = await startFaultProxy({ upstream: api.url, signingCa: ca, faults: '429 x1 on list pods' });
    try {
      const target = { url: proxy.url, ca: ca.cert };
      expect((await send(target, 'GET', PODS)).status).toBe(429);
      expect(JSON.parse((await send(target, 'GET', PODS)).body)).toMatchObject({ kind: 'PodList' });
    } finally {
      await proxy.close();
      await api.close();
      await ca.dispose();
    }
  });
});
