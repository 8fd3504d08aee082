import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeError } from './errors.js';
import { reply, startFakeApi, type FakeApi, type Reply } from './fixtures/fake-api.js';

// Log follow against a scripted API server on loopback: a stream that goes silent.

let fake: FakeApi;
afterEach(async () => fake?.close());

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('resolved, expected a rejection');
    },
    (e: unknown) => e as KubeError,
  );

/** A log stream that sends `lines`, then nothing more, keeping the connection open. */
const stalledLog =
  (lines: string): Reply =>
  (res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write(lines);
  };

function collect(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write: (c: Buffer, _e, cb) => {
      chunks.push(c);
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

describe('logs', () => {
  it('stops following a log that sends nothing for idleTimeoutMs, with LOG_IDLE naming the pod and container', async () => {
    fake = await startFakeApi();
    fake.script(stalledLog('step 1\n'));
    const out = collect();
    const started = Date.now();
    const err = await rejection(fake.client().logs({ namespace: 'ci', pod: 'step-1', container: 'step', follow: true, idleTimeoutMs: 200 }, out.stream));
    expect(err.code).toBe('LOG_IDLE');
    expect(err.message).toBe(
      'the log of pod ci/step-1 container step sent nothing for 0.2 s; stopped following it. The connection to the API server or the node may be lost; the log can be read again from where it stopped (sinceTime)',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(out.text()).toBe('step 1\n');
  });

  it('stops a silent follow read as text too', async () => {
    fake = await startFakeApi();
    fake.script(stalledLog(''));
    const err = await rejection(fake.client().logs({ namespace: 'ci', pod: 'step-1', follow: true, idleTimeoutMs: 100 }));
    expect(err.code).toBe('LOG_IDLE');
    expect(err.message).toMatch(/^the log of pod ci\/step-1 sent nothing for 0\.1 s/);
  });

  it('passes sinceTime and timestamps to resume a follow, and reads a log sent again after a reset', async () => {
    fake = await startFakeApi();
    fake.script(reply.reset(), (res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('2026-01-01T00:00:01Z again\n'));
    const text = await fake
      .client({ retry: { baseDelayMs: 5 } })
      .logs({ namespace: 'ci', pod: 'step-1', container: 'step', sinceTime: '2026-01-01T00:00:00Z', timestamps: true });
    expect(text).toBe('2026-01-01T00:00:01Z again\n');
    expect(fake.seen).toHaveLength(2);
    expect(Object.fromEntries(fake.seen[1]?.query ?? [])).toEqual({ container: 'step', sinceTime: '2026-01-01T00:00:00Z', timestamps: 'true' });
  });
});
