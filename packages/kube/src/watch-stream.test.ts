import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createKubeClient } from './client.js';
import { isGone, type KubeError } from './errors.js';
import { fixture } from './fixtures/load.js';
import { R } from './resources.js';
import type { KubeClient } from './types.js';

// A fake API server on loopback, only for watch streams a real API server does not send on
// demand (garbage lines, an expired resourceVersion mid-stream). Normal watches are tested
// against the real cluster.

let server: Server | undefined;
let client: KubeClient | undefined;

async function serveWatch(respond: (res: ServerResponse) => void): Promise<KubeClient> {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    respond(res);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  client = createKubeClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, namespace: 'ci', source: 'test' });
  return client;
}

afterEach(async () => {
  client?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  client = undefined;
});

const ref = { type: R.pods, namespace: 'ci' };
const event = (type: string, name: string) => JSON.stringify({ type, object: { metadata: { name } } });

describe('watch on a misbehaving stream', () => {
  it('rejects with WATCH_DECODE on a garbage line after delivering the events before it', async () => {
    const c = await serveWatch((res) => res.write(`${event('ADDED', 'a')}\nthis is not json\n${event('ADDED', 'b')}\n`));
    const seen: string[] = [];
    const err = await c.watch<{ metadata: { name: string } }>(ref, (e) => void seen.push(e.object.metadata.name)).catch((e: unknown) => e as KubeError);
    expect(err).toMatchObject({ code: 'WATCH_DECODE', message: 'watch of pods sent a line that is not JSON (16 bytes)' });
    expect(seen).toEqual(['a']);
  });

  it('rejects with a GONE KubeApiError on an expired resourceVersion so the caller can list again', async () => {
    const c = await serveWatch((res) => res.write(`${event('ADDED', 'a')}\n${fixture('watch-410-expired.json')}\n`));
    const err = await c.watch(ref, () => undefined).catch((e: unknown) => e);
    expect(isGone(err)).toBe(true);
    expect(c.stats.byKind.get('WATCH pods')).toBe(1);
  });

  it('reassembles events split at arbitrary points and resolves with the one the handler accepts', async () => {
    const c = await serveWatch((res) => {
      const text = `${event('ADDED', 'a')}\n${event('MODIFIED', 'b')}\n${event('MODIFIED', 'c')}\n`;
      let at = 0;
      const timer = setInterval(() => {
        res.write(text.slice(at, at + 7));
        at += 7;
        if (at >= text.length) clearInterval(timer);
      }, 1);
      res.on('close', () => clearInterval(timer));
    });
    const found = await c.watch<{ metadata: { name: string } }>(ref, async (e) => e.object.metadata.name === 'b');
    expect(found).toEqual({ metadata: { name: 'b' } });
  });

  it('resolves undefined when the server ends the watch', async () => {
    const c = await serveWatch((res) => res.end(`${event('ADDED', 'a')}\n`));
    await expect(c.watch(ref, () => false)).resolves.toBeUndefined();
  });
});
