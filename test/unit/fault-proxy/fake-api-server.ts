/**
 * A small stand-in for the API server behind the fault proxy: a list, a create, a watch that
 * streams events, a followed log, and an exec upgrade that streams frames, over HTTPS (with its
 * own CA) or plain HTTP. It records what reached it.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createCertificateAuthority, issueServingCertificate, type IssuedCertificate } from '../../fault-proxy/certificates.js';

/** One request as the fake API server saw it. */
export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** Resolves when the server's side of the exchange is closed (by the proxy or at its end). */
  readonly closed: Promise<void>;
}

export interface FakeApiServer {
  readonly url: string;
  /** The CA that signed the fake's certificate (undefined for plain HTTP); the proxy signs with it too. */
  readonly ca: IssuedCertificate | undefined;
  readonly received: Received[];
  /** Objects created by POSTs. */
  readonly created: unknown[];
  close(): Promise<void>;
}

/** Watch events and log lines streamed per request. */
export const STREAM_EVENTS = 5;
/** Bytes an exec sends after the upgrade: 10 frames of 12 bytes. */
export const EXEC_FRAMES = 10;

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC11B6B';

/** A server-to-client WebSocket binary frame (unmasked, payload < 126 bytes). */
export function wsFrame(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x82, payload.length]), payload]);
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Writes `count` lines, one every `gapMs`, then keeps the response open until the client goes. */
function streamLines(res: http.ServerResponse, count: number, line: (i: number) => string, gapMs = 5): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  let i = 0;
  const timer = setInterval(() => {
    i++;
    res.write(`${line(i)}\n`);
    if (i >= count) clearInterval(timer);
  }, gapMs);
  res.on('close', () => clearInterval(timer));
}

function handle(req: http.IncomingMessage, res: http.ServerResponse, created: unknown[]): void {
  const url = new URL(req.url ?? '/', 'http://fake');
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (url.pathname === '/api/v1/namespaces/ns/pods' && req.method === 'GET' && url.searchParams.get('watch') === 'true') {
      const from = Number(url.searchParams.get('resourceVersion') ?? '0');
      return streamLines(res, STREAM_EVENTS, (i) =>
        JSON.stringify({ type: 'ADDED', object: { kind: 'Pod', metadata: { name: `p${i}`, resourceVersion: String(from + i) } } }),
      );
    }
    if (url.pathname === '/api/v1/namespaces/ns/pods' && req.method === 'GET') {
      return json(res, 200, {
        kind: 'PodList',
        metadata: { resourceVersion: '7' },
        items: [{ metadata: { name: 'p1' } }],
        seenAuthorization: req.headers.authorization ?? null,
      });
    }
    if (url.pathname === '/api/v1/namespaces/ns/pods' && req.method === 'POST') {
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString() || '{}');
      created.push(body);
      return json(res, 201, body);
    }
    if (url.pathname === '/api/v1/namespaces/ns/pods/p1/log') {
      if (url.searchParams.get('follow') === 'true') return streamLines(res, STREAM_EVENTS, (i) => `log line ${i}`);
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      return res.end('log line 1\n');
    }
    json(res, 404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: `${url.pathname} not found` });
  });
}

function handleUpgrade(req: http.IncomingMessage, socket: Socket): void {
  socket.on('error', () => undefined);
  if (!req.url?.startsWith('/api/v1/namespaces/ns/pods/p1/exec')) {
    const body = JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message: 'exec refused' });
    socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    return;
  }
  const key = String(req.headers['sec-websocket-key'] ?? '');
  const accept = createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
  const protocol =
    String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')[0]
      ?.trim() ?? '';
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
  );
  // Echo what the client sends, then stream frames on channel 1 (stdout).
  socket.on('data', (data: Buffer) => socket.write(data));
  let i = 0;
  const timer = setInterval(() => {
    i++;
    socket.write(wsFrame(Buffer.from(`\x01frame ${String(i).padStart(4, '0')}`)));
    if (i >= EXEC_FRAMES) clearInterval(timer);
  }, 5);
  socket.on('close', () => clearInterval(timer));
}

/** Starts the fake on 127.0.0.1, over HTTPS with a fresh CA unless `tls` is false. */
export async function startFakeApiServer(tls = true): Promise<FakeApiServer> {
  const received: Received[] = [];
  const created: unknown[] = [];
  const ca = tls ? await createCertificateAuthority() : undefined;
  const serving = ca ? await issueServingCertificate(ca, 'fake-api-server') : undefined;
  const server = serving ? https.createServer({ key: serving.key, cert: serving.cert }) : http.createServer();
  const sockets = new Set<Socket>();
  server.on(serving ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const note = (req: http.IncomingMessage, closable: { once(e: 'close', l: () => void): unknown }) =>
    received.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      closed: new Promise((resolve) => closable.once('close', () => resolve())),
    });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    note(req, res);
    handle(req, res, created);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket) => {
    sockets.add(socket);
    note(req, socket);
    handleUpgrade(req, socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${serving ? 'https' : 'http'}://127.0.0.1:${port}`,
    ca,
    received,
    created,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await serving?.dispose();
      await ca?.dispose();
    },
  };
}
