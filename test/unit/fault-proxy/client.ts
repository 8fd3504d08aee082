/**
 * A raw HTTPS client for the proxy's unit tests: whole answers, streams read line by line, and
 * upgrades read byte by byte — so each test sees exactly what the proxy sent.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';

export interface Target {
  /** The proxy's URL. */
  readonly url: string;
  /** The CA the proxy's certificate is signed by. */
  readonly ca: Buffer;
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

function request(target: Target, method: string, path: string, headers: Record<string, string> = {}): https.RequestOptions {
  const { hostname, port } = new URL(target.url);
  return { hostname, port, method, path, headers, ca: target.ca, agent: false };
}

/** Sends a request and reads the whole answer; rejects with the socket error (ECONNRESET, …). */
export function send(target: Target, method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(request(target, method, path, options.headers), (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A streaming response read as lines. */
export interface LineStream {
  readonly status: number;
  readonly lines: string[];
  /** How the body ended: cleanly, or with an error (the connection reset or closed mid-body). */
  readonly ended: Promise<'end' | 'error'>;
  /** Resolves once `n` lines have arrived. */
  lineCount(n: number): Promise<void>;
  destroy(): void;
}

/** Opens a request whose body streams (a watch, a followed log). */
export function openStream(target: Target, path: string, headers: Record<string, string> = {}): Promise<LineStream> {
  return new Promise((resolve, reject) => {
    const req = https.request(request(target, 'GET', path, headers), (res: IncomingMessage) => {
      const lines: string[] = [];
      let partial = '';
      const waiters: { n: number; resolve: () => void }[] = [];
      const wake = () => {
        for (const w of [...waiters]) if (lines.length >= w.n) w.resolve();
      };
      res.on('data', (c: Buffer) => {
        const parts = (partial + c.toString()).split('\n');
        partial = parts.pop() ?? '';
        lines.push(...parts);
        wake();
      });
      const ended = new Promise<'end' | 'error'>((done) => {
        res.on('end', () => done('end'));
        res.on('error', () => done('error'));
        res.on('aborted', () => done('error'));
      });
      resolve({
        status: res.statusCode ?? 0,
        lines,
        ended,
        lineCount: (n) =>
          new Promise<void>((r) => {
            waiters.push({ n, resolve: r });
            wake();
          }),
        destroy: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** An upgraded connection read as bytes. */
export interface Upgraded {
  readonly head: IncomingHttpHeaders;
  readonly socket: Socket;
  /** Bytes received after the 101. */
  received(): Buffer;
  /** Resolves with how the socket ended: `end` (FIN) or the error code (ECONNRESET). */
  readonly closed: Promise<string>;
}

/** Asks for an exec upgrade with the Kubernetes channel subprotocols; rejects with the answer when it is refused. */
export function openUpgrade(target: Target, path: string, headers: Record<string, string> = {}): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      request(target, 'GET', path, {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Protocol': 'v5.channel.k8s.io, v4.channel.k8s.io',
        ...headers,
      }),
    );
    req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      const chunks: Buffer[] = head.length ? [head] : [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      const closed = new Promise<string>((done) => {
        let error: string | undefined;
        socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
        socket.on('close', () => done(error ?? 'end'));
      });
      resolve({ head: res.headers, socket, received: () => Buffer.concat(chunks), closed });
    });
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        reject(
          Object.assign(new Error(`upgrade refused with ${res.statusCode ?? 0}`), {
            answer: { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() },
          }),
        ),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
