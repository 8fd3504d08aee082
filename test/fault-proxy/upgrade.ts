/**
 * One upgrade (an exec websocket) through the proxy: refused or reset by a fault, or forwarded
 * and piped both ways, with `dropExec` cutting it after some bytes or time from the server.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { rawResponseHead, requestHeaders, resetSocket } from './connections.js';
import type { ExchangeContext } from './exchange.js';
import type { DropExecFault, Fault } from './faults.js';
import type { RecordedRequest } from './request-log.js';
import { statusBody } from './status-body.js';
import { ThresholdGate } from './threshold.js';

function finish(record: RecordedRequest, outcome: RecordedRequest['outcome']): void {
  record.outcome = outcome;
  record.endedAt = Date.now();
}

/** Answers on the raw socket with a status and a Kubernetes Status body, then closes it. */
function refuse(socket: Socket, status: number, body: string, extra: readonly string[] = []): void {
  const headers = ['Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(body)), 'Connection', 'close', ...extra];
  socket.end(rawResponseHead(status, STATUS_CODES[status] ?? '', headers) + body);
}

/** Pipes the upgraded sockets both ways; `fault` drops both after its threshold of server bytes or time. */
function pipeBothWays(ctx: ExchangeContext, client: Socket, server: Socket, record: RecordedRequest, fault: DropExecFault | undefined): void {
  const gate = fault ? new ThresholdGate({ ...(fault.afterBytes !== undefined ? { afterBytes: fault.afterBytes } : {}) }) : undefined;
  let dropped = false;
  let timer: NodeJS.Timeout | undefined;
  const drop = () => {
    if (dropped) return;
    dropped = true;
    ctx.open.clearTimer(timer);
    server.destroy();
    client.end(() => client.destroy());
    finish(record, 'cut');
  };
  if (fault?.afterMs !== undefined) timer = ctx.open.timer(fault.afterMs, drop);
  server.on('data', (chunk: Buffer) => {
    if (dropped) return;
    const { pass, reached } = gate ? gate.take(chunk) : { pass: chunk, reached: false };
    if (pass.length) {
      record.bytes += pass.length;
      if (!client.write(pass)) {
        server.pause();
        client.once('drain', () => server.resume());
      }
    }
    if (reached) drop();
  });
  client.pipe(server);
  const ended = (outcome: RecordedRequest['outcome']) => () => {
    if (dropped || record.outcome !== 'open') return;
    ctx.open.clearTimer(timer);
    finish(record, outcome);
  };
  server.on('end', () => client.end());
  server.on('close', ended('completed'));
  client.on('close', () => {
    ended('client-closed')();
    server.destroy();
  });
  server.on('error', () => client.destroy());
  client.on('error', () => server.destroy());
  if (gate?.reachedAtStart) drop();
}

/** Handles one upgrade request whose rule (if any) has been picked. */
export function handleUpgrade(
  ctx: ExchangeContext,
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
  record: RecordedRequest,
  fault: Fault | undefined,
): void {
  ctx.open.track(client);
  client.on('error', () => undefined);
  if (fault?.kind === 'status') {
    const retry = fault.retryAfterSeconds !== undefined ? ['Retry-After', String(fault.retryAfterSeconds)] : [];
    const body = statusBody(fault.status, fault.retryAfterSeconds !== undefined ? { retryAfterSeconds: fault.retryAfterSeconds } : {});
    refuse(client, fault.status, JSON.stringify(body), retry);
    record.status = fault.status;
    finish(record, 'answered');
    return;
  }
  if (fault?.kind === 'reset' && !fault.afterCommit) {
    resetSocket(client);
    finish(record, 'reset');
    return;
  }
  const up = ctx.open.track(ctx.upstream.request(record.method, req.url ?? '/', requestHeaders(req.headers, { upgrade: true }), true));
  up.on('upgrade', (upRes, server: Socket, upHead: Buffer) => {
    ctx.open.track(server);
    record.upstreamStatus = upRes.statusCode;
    if (fault?.kind === 'reset') {
      server.destroy();
      resetSocket(client);
      return finish(record, 'reset');
    }
    client.write(rawResponseHead(upRes.statusCode ?? 101, upRes.statusMessage ?? 'Switching Protocols', upRes.rawHeaders));
    record.status = upRes.statusCode;
    if (head.length) server.write(head);
    if (upHead.length) server.unshift(upHead);
    pipeBothWays(ctx, client, server, record, fault?.kind === 'dropExec' ? fault : undefined);
  });
  up.on('response', (upRes) => {
    // The API server refused the upgrade (403, 404, 400): its answer goes back as it is.
    record.upstreamStatus = upRes.statusCode;
    if (fault?.kind === 'reset') {
      upRes.destroy();
      resetSocket(client);
      return finish(record, 'reset');
    }
    const chunks: Buffer[] = [];
    upRes.on('data', (c: Buffer) => chunks.push(c));
    upRes.on('end', () => {
      const body = Buffer.concat(chunks);
      const status = upRes.statusCode ?? 502;
      const type = upRes.headers['content-type'] ?? 'application/json';
      client.end(
        Buffer.concat([
          Buffer.from(rawResponseHead(status, upRes.statusMessage ?? '', ['Content-Type', type, 'Content-Length', String(body.length), 'Connection', 'close'])),
          body,
        ]),
      );
      record.status = status;
      record.bytes = body.length;
      finish(record, 'completed');
    });
  });
  up.on('error', (err) => {
    if (record.outcome !== 'open') return;
    refuse(client, 502, JSON.stringify(statusBody(502, { message: `the fault proxy could not reach the API server: ${err.message}` })));
    record.status = 502;
    finish(record, 'upstream-error');
  });
  client.on('close', () => {
    if (record.status === undefined) up.destroy();
  });
  up.end();
}
