import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { createKubeClient } from '../client.js';
import { ExecAbortedError, ExecStreamError, ExecTimeoutError, KubeApiError, KubeConnectionError, type KubeError } from '../errors.js';
import type { KubeClient } from '../types.js';

// A fake API server on loopback, only for stream failures a real API server cannot produce on
// demand. Everything else about exec is tested against the real cluster.

interface Fake {
  client: KubeClient;
  server: Server;
  wss: WebSocketServer;
}
const open: Fake[] = [];

/** Answers upgrade number `n` (from 1): `true` to accept, or an HTTP status and headers to refuse it with. */
type Upgrade = (n: number) => true | { status: number; headers?: Record<string, string> };

async function fakeServer(onConnection: (ws: WebSocket) => void, opts: { protocols?: string[]; autoPong?: boolean; upgrade?: Upgrade } = {}): Promise<Fake> {
  const server = createServer();
  let upgrades = 0;
  const wss = new WebSocketServer({
    server,
    autoPong: opts.autoPong ?? true,
    verifyClient: (_info, done) => {
      const answer = opts.upgrade?.(++upgrades) ?? true;
      if (answer === true) done(true);
      else done(false, answer.status, 'refused', answer.headers);
    },
    handleProtocols: (offered) => (opts.protocols ?? ['v5.channel.k8s.io']).find((p) => offered.has(p)) ?? false,
  });
  wss.on('connection', onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = createKubeClient({ server: `http://127.0.0.1:${port}`, namespace: 'ci', source: 'test' }, { retry: { baseDelayMs: 5, maxDelayMs: 20 } });
  const fake = { client, server, wss };
  open.push(fake);
  return fake;
}

afterEach(async () => {
  for (const f of open.splice(0)) {
    f.client.close();
    for (const ws of f.wss.clients) ws.terminate();
    await new Promise((resolve) => f.wss.close(resolve));
    f.server.closeAllConnections();
    await new Promise((resolve) => f.server.close(resolve));
  }
});

const opts = { namespace: 'ci', pod: 'job-1', container: 'job', command: ['sh', '-c', 'tar x'] };
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('exec resolved, expected a rejection');
    },
    (e: unknown) => e as KubeError,
  );

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

describe('exec over a stream that fails', () => {
  it('rejects with ExecStreamError when the socket drops without a status, keeping the output seen so far', async () => {
    const { client } = await fakeServer((ws) => {
      ws.send(Buffer.concat([Buffer.from([1]), Buffer.from('partial output\n')]));
      setTimeout(() => ws.terminate(), 20);
    });
    const out = collect();
    const err = await rejection(client.exec({ ...opts, stdout: out.stream }));
    expect(err).toBeInstanceOf(ExecStreamError);
    expect(err.code).toBe('EXEC_STREAM_LOST');
    expect(err.message).toMatch(
      /^the exec stream to pod ci\/job-1 container job closed without an exit status \(the connection dropped\); the step's result is unknown/,
    );
    expect(out.text()).toBe('partial output\n');
    // Once the command started, the exec is never sent again.
    expect(client.stats.byKind.get('EXEC pods/exec')).toBe(1);
    expect(client.stats.retries).toBe(0);
  });

  it('rejects with ExecStreamError on a clean close that carries no status', async () => {
    const { client } = await fakeServer((ws) => ws.close(1000, 'bye'));
    const err = await rejection(client.exec(opts));
    expect(err).toBeInstanceOf(ExecStreamError);
    expect(err.message).toContain('closed without an exit status (close code 1000 "bye")');
  });

  it('treats missing pongs as a dropped stream', async () => {
    const { client } = await fakeServer(() => undefined, { autoPong: false });
    const started = Date.now();
    const err = await rejection(client.exec({ ...opts, keepaliveMs: 40 }));
    expect(err).toBeInstanceOf(ExecStreamError);
    expect(err.message).toMatch(/^the exec stream to pod ci\/job-1 container job stopped answering keepalive pings for \d+ s; the step's result is unknown/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(120);
  });

  it('keeps a silent command alive while pongs arrive', async () => {
    const { client } = await fakeServer((ws) => {
      setTimeout(() => {
        ws.send(Buffer.concat([Buffer.from([3]), Buffer.from('{"status":"Success"}')]));
        ws.close(1000);
      }, 400);
    });
    await expect(client.exec({ ...opts, keepaliveMs: 40 })).resolves.toMatchObject({ exitCode: 0 });
  });

  it('rejects with ExecAbortedError when the signal aborts, and closes the socket', async () => {
    let serverClosed!: Promise<void>;
    const { client } = await fakeServer((ws) => {
      serverClosed = new Promise((resolve) => ws.on('close', () => resolve()));
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await rejection(client.exec({ ...opts, signal: ac.signal }));
    expect(err).toBeInstanceOf(ExecAbortedError);
    expect(err.message).toBe('exec of "sh" in pod ci/job-1 container job was aborted');
    await serverClosed;
  });

  it('refuses stdin that needs EOF when the server only speaks v4', async () => {
    const { client } = await fakeServer(() => undefined, { protocols: ['v4.channel.k8s.io'] });
    const err = await rejection(client.exec({ ...opts, stdin: 'data' }));
    expect(err.code).toBe('EXEC_STDIN_EOF_UNSUPPORTED');
    expect(err.message).toContain('speaks only v4.channel.k8s.io, which cannot signal end of input on stdin');
  });

  it('sends large stdin in chunks and closes it with the v5 close signal', async () => {
    const payload = Buffer.alloc(5 * 1024 * 1024, 7);
    let received = 0;
    let maxFrame = 0;
    const { client } = await fakeServer((ws) => {
      ws.on('message', (data: Buffer) => {
        if (data[0] === 0) {
          received += data.length - 1;
          maxFrame = Math.max(maxFrame, data.length);
        } else if (data[0] === 255 && data[1] === 0) {
          ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(`got ${received}`)]));
          ws.send(
            Buffer.concat([
              Buffer.from([3]),
              Buffer.from('{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}'),
            ]),
          );
          ws.close(1000);
        }
      });
    });
    const out = collect();
    await expect(client.exec({ ...opts, stdin: payload, stdout: out.stream })).resolves.toEqual({ exitCode: 3, protocol: 'v5.channel.k8s.io' });
    expect(out.text()).toBe(`got ${payload.length}`);
    expect(maxFrame).toBeLessThanOrEqual(64 * 1024 + 1);
    expect(client.stats.byKind.get('EXEC pods/exec')).toBe(1);
  });
});

const STATUS_EXIT_5 = Buffer.concat([
  Buffer.from([3]),
  Buffer.from('{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"5"}]}}'),
]);

/** The server side's raw socket of the next websocket connection (for frames `ws` would not send). */
function nextSocket(server: Server): Promise<Socket> {
  return new Promise((resolve) => server.once('upgrade', (_req, socket: Socket) => resolve(socket)));
}

/** Stdin that sends one chunk, then a second one only once `gate` resolves. */
function gatedStdin(gate: Promise<unknown>): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from('first chunk');
      await gate;
      yield Buffer.from('second chunk');
    })(),
  );
}

describe('exec start-up and deadline', () => {
  it('sends the upgrade again after 429 and 503 answers, and runs the command once', async () => {
    let commands = 0;
    const { client } = await fakeServer(
      (ws) => {
        commands++;
        ws.send(STATUS_EXIT_5);
        ws.close(1000);
      },
      { upgrade: (n) => (n === 1 ? { status: 429, headers: { 'Retry-After': '0' } } : n === 2 ? { status: 503 } : true) },
    );
    await expect(client.exec(opts)).resolves.toEqual({ exitCode: 5, protocol: 'v5.channel.k8s.io' });
    expect(commands).toBe(1);
    expect(client.stats.byKind.get('EXEC pods/exec')).toBe(3);
    expect(client.stats.recoveries?.get('RETRY EXEC pods/exec')).toBe(2);
  });

  it('with retryUpgrade false, rejects at the first refused upgrade (500) and sends it once', async () => {
    let commands = 0;
    const { client } = await fakeServer(
      () => {
        commands++;
      },
      { upgrade: () => ({ status: 500 }) },
    );
    const err = await rejection(client.exec({ ...opts, retryUpgrade: false }));
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(500);
    expect(commands).toBe(0);
    expect(client.stats.byKind.get('EXEC pods/exec')).toBe(1);
    expect(client.stats.recoveries?.get('RETRY EXEC pods/exec')).toBeUndefined();
  });

  it('does not send the upgrade again after an answer that will not change (403)', async () => {
    const { client } = await fakeServer(() => undefined, { upgrade: () => ({ status: 403 }) });
    const err = await rejection(client.exec(opts));
    expect(err.code).toBe('FORBIDDEN');
    expect(client.stats.byKind.get('EXEC pods/exec')).toBe(1);
  });

  it('closes the stream at timeoutMs and names the pod, container, command and seconds', async () => {
    let serverClosed!: Promise<void>;
    const { client } = await fakeServer((ws) => {
      serverClosed = new Promise((resolve) => ws.on('close', () => resolve()));
      ws.send(Buffer.concat([Buffer.from([1]), Buffer.from('working\n')]));
    });
    const out = collect();
    const started = Date.now();
    const err = await rejection(client.exec({ ...opts, command: ['sync', '-f', '/CONAN_HOME'], stdout: out.stream, timeoutMs: 200 }));
    expect(err).toBeInstanceOf(ExecTimeoutError);
    expect(err.code).toBe('EXEC_TIMEOUT');
    expect(err.message).toBe(
      'exec of "sync" in pod ci/job-1 container job did not finish within 0.2 s; the stream was closed. The command may still be running in the container',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(out.text()).toBe('working\n');
    await serverClosed;
  });

  it('keeps an exit status that arrived before the deadline', async () => {
    const { client } = await fakeServer((ws) => ws.send(STATUS_EXIT_5));
    await expect(client.exec({ ...opts, timeoutMs: 100 })).resolves.toMatchObject({ exitCode: 5 });
  });
});

describe('exec: a received exit status is the result', () => {
  it('keeps the status when stdin can no longer be sent after it (the server is closing)', async () => {
    const { client, server } = await fakeServer((ws) => {
      ws.once('message', () => {
        ws.send(Buffer.concat([Buffer.from([1]), Buffer.from('done early\n')]));
        ws.send(STATUS_EXIT_5);
        ws.close(1000);
        // Never answer the client's close frame: it stays CLOSING, and sends fail, until the end.
        void socket.then((s) => s.pause());
      });
    });
    const socket = nextSocket(server);
    let sawOutput!: () => void;
    const outputSeen = new Promise<void>((resolve) => (sawOutput = resolve));
    const out = new Writable({
      write: (_c: Buffer, _e, cb) => {
        sawOutput();
        cb();
      },
    });
    // The second chunk goes out after the status and the close frame arrived: its send fails.
    const stdin = gatedStdin(outputSeen.then(() => new Promise((r) => setTimeout(r, 100))));
    await expect(client.exec({ ...opts, stdin, stdout: out })).resolves.toEqual({ exitCode: 5, protocol: 'v5.channel.k8s.io' });
  });

  it('keeps the status when the stream breaks after it', async () => {
    const { client, server } = await fakeServer((ws) => {
      ws.send(STATUS_EXIT_5);
      // An invalid frame (reserved opcode): the client's socket errors.
      void socket.then((s) => s.write(Buffer.from([0x83, 0x00])));
    });
    const socket = nextSocket(server);
    await expect(client.exec(opts)).resolves.toEqual({ exitCode: 5, protocol: 'v5.channel.k8s.io' });
  });

  it('keeps the status when stdin fails to read after it', async () => {
    let statusSent!: () => void;
    const sent = new Promise<void>((resolve) => (statusSent = resolve));
    const { client } = await fakeServer((ws) => {
      ws.once('message', () => ws.send(STATUS_EXIT_5, () => statusSent()));
    });
    const stdin = Readable.from(
      (async function* () {
        yield Buffer.from('first chunk');
        await sent;
        await new Promise((r) => setTimeout(r, 100));
        throw new Error('disk went away');
      })(),
    );
    await expect(client.exec({ ...opts, stdin })).resolves.toMatchObject({ exitCode: 5 });
  });

  it('rejects with ExecStreamError when stdin cannot be sent and no status came', async () => {
    const { client, server } = await fakeServer((ws) => {
      ws.once('message', () => {
        ws.close(1000);
        void socket.then((s) => s.pause());
      });
    });
    const socket = nextSocket(server);
    const err = await rejection(client.exec({ ...opts, stdin: gatedStdin(new Promise((r) => setTimeout(r, 200))) }));
    expect(err).toBeInstanceOf(ExecStreamError);
    expect(err.message).toMatch(/^sending stdin to pod ci\/job-1 container job failed: WebSocket is not open/);
  });

  it('rejects with ExecStreamError when stdin fails to read and no status came', async () => {
    const { client } = await fakeServer(() => undefined);
    const stdin = Readable.from(
      (async function* () {
        yield Buffer.from('first chunk');
        throw new Error('disk went away');
      })(),
    );
    const err = await rejection(client.exec({ ...opts, stdin }));
    expect(err).toBeInstanceOf(ExecStreamError);
    expect(err.message).toBe('sending stdin to pod ci/job-1 container job failed: disk went away');
  });

  it('rejects with ExecStreamError when the stream breaks before a status', async () => {
    const { client, server } = await fakeServer(() => {
      void socket.then((s) => s.write(Buffer.from([0x83, 0x00])));
    });
    const socket = nextSocket(server);
    const err = await rejection(client.exec(opts));
    expect(err).toBeInstanceOf(ExecStreamError);
    expect(err.message).toMatch(
      /^the exec stream to pod ci\/job-1 container job failed \(Invalid WebSocket frame: invalid opcode 3\); the step's result is unknown/,
    );
  });
});

describe('connection failures', () => {
  it('names the server URL when nothing listens there', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    // A refused connection is retried (nothing was sent): two attempts, then the last error.
    const client = createKubeClient({ server: `http://127.0.0.1:${port}`, namespace: 'ci', source: 'test' }, { retry: { maxAttempts: 2, baseDelayMs: 10 } });
    const err = await rejection(client.exec(opts));
    expect(err).toBeInstanceOf(KubeConnectionError);
    expect(err.message).toMatch(
      new RegExp(
        `^cannot reach the Kubernetes API at http://127.0.0.1:${port} \\(ECONNREFUSED\\): .*; gave up after 2 attempts in \\d+\\.\\d s\\. Check that the API server is running`,
      ),
    );
    expect(client.stats.byKind.get('EXEC pods/exec')).toBe(2);
    expect(client.stats.recoveries?.get('RETRY EXEC pods/exec')).toBe(1);
    const getErr = await rejection(client.get({ type: { group: '', version: 'v1', plural: 'pods', namespaced: true }, namespace: 'ci', name: 'x' }));
    expect(getErr).toBeInstanceOf(KubeConnectionError);
    expect((getErr as KubeConnectionError).server).toBe(`http://127.0.0.1:${port}`);
    client.close();
  });
});

describe('connections', () => {
  it('starts an exec on an idle keep-alive connection and takes it over; the next request opens a new one', async () => {
    const fake = await fakeServer((ws) => ws.send(Buffer.concat([Buffer.from([3]), Buffer.from('{"status":"Success"}')])));
    const connections: Socket[] = [];
    fake.server.on('connection', (socket: Socket) => connections.push(socket));
    fake.server.on('request', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Pod","metadata":{"name":"job-1"}}'));
    const pod = { type: { group: '', version: 'v1', plural: 'pods', namespaced: true }, namespace: 'ci', name: 'job-1' } as const;

    await fake.client.get(pod);
    expect(connections).toHaveLength(1);
    await expect(fake.client.exec(opts)).resolves.toMatchObject({ exitCode: 0 });
    expect(connections).toHaveLength(1); // the upgrade used the GET's idle connection
    await fake.client.get(pod);
    expect(connections).toHaveLength(2); // that connection now belongs to the websocket
  });
});
