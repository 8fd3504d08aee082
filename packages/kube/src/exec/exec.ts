import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type WebSocket from 'ws';
import { parseStatus, toApiError, type RequestContext } from '../api-error.js';
import { ExecAbortedError, ExecError, ExecStreamError, ExecTimeoutError, KubeError } from '../errors.js';
import { resourcePath } from '../paths.js';
import { R } from '../resources.js';
import { parseRetryAfter } from '../retry.js';
import { connectionError, readBody, type Transport } from '../transport.js';
import type { ExecOptions, ExecResult } from '../types.js';
import { describeTarget, parseExecStatus } from './status.js';

/** Subprotocols offered, best first. Only v5 can half-close stdin. */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;
/** Stdin frame payload size and the send-buffer level above which the pump waits. */
const STDIN_CHUNK = 64 * 1024;
const HIGH_WATER = 1024 * 1024;
/** Keepalive: a stream is dropped after this many intervals without any frame from the server. */
const MISSED_PONGS = 3;
/** After the status frame, how long to wait for the server's close before finishing anyway. */
const CLOSE_GRACE_MS = 2000;

const seconds = (ms: number): string => `${Number.isInteger(ms / 1000) ? ms / 1000 : (ms / 1000).toFixed(1)} s`;

/** The exec URL query: `command` repeated per argument. */
export function execQuery(o: Pick<ExecOptions, 'container' | 'command' | 'stdin'>): string {
  const q = new URLSearchParams();
  q.append('container', o.container);
  for (const arg of o.command) q.append('command', arg);
  q.append('stdin', String(o.stdin !== undefined));
  q.append('stdout', 'true');
  q.append('stderr', 'true');
  return q.toString();
}

async function* chunksOf(stdin: Readable | Buffer | string): AsyncGenerator<Buffer> {
  if (typeof stdin === 'string') yield Buffer.from(stdin);
  else if (Buffer.isBuffer(stdin)) yield stdin;
  else for await (const chunk of stdin) yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
}

/**
 * Runs a command in a container over a websocket and resolves with its exit code from the
 * status channel. Rejects with `ExecStreamError` when the stream ends, breaks, goes silent or
 * cannot take stdin before a status arrived (the result is then unknown), `ExecAbortedError` on
 * abort, `ExecTimeoutError` after `timeoutMs`, `ExecError` when the command could not run,
 * `KubeApiError` when the upgrade is refused. A status once received is the result, whatever the
 * stream does after it. The upgrade request is sent again on 429 and 5xx answers and on
 * connections never made (the client's retry policy, unless `retryUpgrade` is false); once the
 * upgrade succeeded, never.
 */
export async function execInPod(transport: Transport, options: ExecOptions): Promise<ExecResult> {
  const { namespace, pod, container } = options;
  const target = { namespace, pod, container, command: options.command };
  const where = describeTarget(target);
  const command = JSON.stringify(options.command[0] ?? '');
  const ref = { type: R.pods, namespace, name: pod, subresource: 'exec' };
  const ctx: RequestContext = { verb: 'create', group: '', resource: 'pods/exec', namespace, name: pod };
  if (options.signal?.aborted) throw new ExecAbortedError(`exec in ${where} was aborted before it started`);

  const { WebSocket: WS } = await import(/* webpackMode: "eager" */ 'ws');
  const base = new URL(transport.config.server);
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${base.origin}${base.pathname.replace(/\/$/, '')}${resourcePath(ref)}?${execQuery(options)}`;

  return new Promise<ExecResult>((resolve, reject) => {
    /** The socket of the current attempt; once open, the only one. */
    let ws: WebSocket | undefined;
    let attempt = 0;
    const startedAt = Date.now();
    let settled = false;
    let exitCode: number | undefined;
    let statusError: unknown;
    let lastSeen = Date.now();
    let keepalive: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    const keepaliveMs = options.keepaliveMs ?? 30_000;

    const settle = (err: unknown, result?: ExecResult) => {
      if (settled) return;
      settled = true;
      clearInterval(keepalive);
      clearTimeout(grace);
      clearTimeout(retryTimer);
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onAbort);
      if (ws?.readyState === WS.OPEN) ws.close(1000);
      else if (ws && ws.readyState !== WS.CLOSED) ws.terminate();
      if (err) reject(err);
      else resolve(result as ExecResult);
    };
    const finishWithStatus = () => {
      if (statusError) settle(statusError);
      else settle(undefined, { exitCode: exitCode as number, protocol: ws?.protocol ?? '' });
    };
    // Once the status channel has spoken, the command has ended and that status is the result:
    // a later failure of the stream (stdin that can no longer be sent, a broken or silent socket)
    // changes nothing. Before it, every such failure leaves the result unknown and is an error.
    const hasStatus = () => exitCode !== undefined || statusError !== undefined;
    const fail = (err: unknown) => (hasStatus() ? finishWithStatus() : settle(err));
    const onAbort = () => settle(new ExecAbortedError(`exec of ${command} in ${where} was aborted`, { cause: options.signal?.reason }));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      const ms = options.timeoutMs;
      deadline = setTimeout(() => {
        if (hasStatus()) return finishWithStatus();
        settle(
          new ExecTimeoutError(`exec of ${command} in ${where} did not finish within ${seconds(ms)}; the stream was closed`, {
            hint: 'The command may still be running in the container',
          }),
        );
      }, ms);
    }

    // Before the upgrade succeeded nothing ran: the retry policy may send it again.
    const failBeforeOpen = (err: unknown) => {
      if (settled) return;
      if (options.retryUpgrade === false) return settle(err);
      const decision = transport.retry.decide(err, attempt, startedAt, 'upgrade');
      if (!decision.retry) return settle(decision.error);
      transport.stats.recover('RETRY', 'EXEC pods/exec');
      retryTimer = setTimeout(() => void connect(), decision.delayMs);
    };

    const connect = async () => {
      attempt++;
      let identity: Record<string, string | string[]>;
      try {
        identity = await transport.identityHeaders();
      } catch (err) {
        return settle(err);
      }
      if (settled) return;
      transport.stats.count('EXEC pods/exec');
      const sock: WebSocket = new WS(url, [...EXEC_PROTOCOLS], {
        ...transport.tlsOptions(),
        agent: transport.upgradeAgent,
        headers: identity,
        perMessageDeflate: false,
        handshakeTimeout: 30_000,
        followRedirects: false,
      });
      ws = sock;
      wire(sock);
    };

    const wire = (sock: WebSocket) => {
      let opened = false;
      let refused = false;
      const current = () => sock === ws && !settled && !refused;
      const failUpgrade = (err: unknown) => {
        refused = true;
        failBeforeOpen(err);
      };

      sock.on('unexpected-response', (req: ClientRequest, res: IncomingMessage) => {
        readBody(res, 1 << 20)
          .then((body) => {
            if (current()) failUpgrade(toApiError(res.statusCode ?? 0, parseStatus(body), ctx, parseRetryAfter(res.headers['retry-after'])));
          })
          .catch((err: unknown) => current() && settle(connectionError(transport.config.server, err)))
          .finally(() => req.destroy());
      });

      sock.on('open', () => {
        if (!current()) return;
        opened = true;
        lastSeen = Date.now();
        if (keepaliveMs > 0) {
          keepalive = setInterval(() => {
            if (!sock.isPaused && Date.now() - lastSeen > MISSED_PONGS * keepaliveMs) {
              fail(
                new ExecStreamError(
                  `the exec stream to ${where} stopped answering keepalive pings for ${Math.round((Date.now() - lastSeen) / 1000)} s; the step's result is unknown`,
                  {
                    hint: 'The connection to the API server or the node was lost',
                  },
                ),
              );
              return;
            }
            sock.ping();
          }, keepaliveMs);
          keepalive.unref?.();
        }
        if (options.stdin !== undefined) {
          pumpStdin(sock, options.stdin).catch((err: unknown) =>
            fail(err instanceof KubeError ? err : new ExecStreamError(`sending stdin to ${where} failed: ${(err as Error).message}`, { cause: err })),
          );
        }
      });

      const write = (out: NodeJS.WritableStream | undefined, payload: Buffer) => {
        if (!out || payload.length === 0) return;
        if (!out.write(payload)) {
          sock.pause();
          out.once('drain', () => sock.resume());
        }
      };

      sock.on('message', (data: Buffer, isBinary: boolean) => {
        if (!current()) return;
        lastSeen = Date.now();
        const buf = isBinary ? data : Buffer.from(data);
        if (buf.length === 0) return;
        const payload = buf.subarray(1);
        switch (buf[0]) {
          case STDOUT:
            write(options.stdout, payload);
            break;
          case STDERR:
            write(options.stderr, payload);
            break;
          case STATUS:
            try {
              exitCode = parseExecStatus(payload, target);
            } catch (err) {
              statusError = err;
            }
            // Output frames come before the status; give the server a moment to close cleanly.
            grace ??= setTimeout(finishWithStatus, CLOSE_GRACE_MS);
            break;
          default:
            break;
        }
      });
      sock.on('pong', () => {
        lastSeen = Date.now();
      });
      sock.on('close', (code: number, reason: Buffer) => {
        if (!current() || !opened) return;
        if (hasStatus()) return finishWithStatus();
        const why = code === 1006 ? 'the connection dropped' : `close code ${code}${reason.length ? ` "${reason.toString()}"` : ''}`;
        settle(
          new ExecStreamError(`the exec stream to ${where} closed without an exit status (${why}); the step's result is unknown`, {
            hint: 'The API server, the node or the network ended the stream; re-run the step',
          }),
        );
      });
      sock.on('error', (err: Error) => {
        if (!current()) return;
        if (!opened) failUpgrade(connectionError(transport.config.server, err));
        else fail(new ExecStreamError(`the exec stream to ${where} failed (${err.message}); the step's result is unknown`, { cause: err }));
      });
    };

    const pumpStdin = async (sock: WebSocket, stdin: Readable | Buffer | string) => {
      const v5 = sock.protocol === EXEC_PROTOCOLS[0];
      if (!v5 && options.requireStdinEof !== false) {
        throw new ExecError(
          'EXEC_STDIN_EOF_UNSUPPORTED',
          `the API server for ${where} speaks only ${sock.protocol || 'an old exec protocol'}, which cannot signal end of input on stdin`,
          {
            hint: 'Use a Kubernetes API server that supports v5.channel.k8s.io (1.30 or later), or a command that reads a known number of bytes and pass requireStdinEof: false',
          },
        );
      }
      let last: Promise<void> = Promise.resolve();
      const send = (frame: Buffer) => {
        last = new Promise<void>((res, rej) => sock.send(frame, (err) => (err ? rej(err) : res())));
        last.catch(() => undefined);
        return last;
      };
      for await (const chunk of chunksOf(stdin)) {
        for (let off = 0; off < chunk.length; off += STDIN_CHUNK) {
          if (settled) return;
          const piece = chunk.subarray(off, off + STDIN_CHUNK);
          const frame = Buffer.allocUnsafe(piece.length + 1);
          frame[0] = STDIN;
          piece.copy(frame, 1);
          void send(frame);
          if (sock.bufferedAmount > HIGH_WATER) await last;
        }
      }
      if (settled) return;
      if (v5) await send(Buffer.from([CLOSE, STDIN]));
      else await last;
    };

    void connect();
  });
}
