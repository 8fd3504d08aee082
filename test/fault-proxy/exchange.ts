/**
 * One plain (not upgraded) request through the proxy: answered by a fault, or forwarded with its
 * response body passed through a stream fault.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestHeaders, resetSocket, responseHeaders, type OpenThings, type Upstream } from './connections.js';
import type { CutStreamFault, Fault, GoneFault, StallFault, StatusFault } from './faults.js';
import type { RecordedRequest } from './request-log.js';
import { expiredWatchEvent, statusBody } from './status-body.js';
import { ThresholdGate } from './threshold.js';

/** What an exchange works with. */
export interface ExchangeContext {
  readonly upstream: Upstream;
  readonly open: OpenThings;
}

function finish(record: RecordedRequest, outcome: RecordedRequest['outcome']): void {
  record.outcome = outcome;
  record.endedAt = Date.now();
}

/** Reads the request's body (to its end), then calls `then`. */
function afterBody(req: IncomingMessage, then: () => void): void {
  if (req.readableEnded) {
    then();
    return;
  }
  req.once('end', then);
  req.resume();
}

function answerStatus(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, fault: StatusFault): void {
  afterBody(req, () => {
    const body = JSON.stringify(statusBody(fault.status, fault.retryAfterSeconds !== undefined ? { retryAfterSeconds: fault.retryAfterSeconds } : {}));
    res.writeHead(fault.status, {
      'Content-Type': 'application/json',
      ...(fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {}),
    });
    res.end(body);
    record.status = fault.status;
    finish(record, 'answered');
  });
}

function answerGone(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, fault: GoneFault): void {
  afterBody(req, () => {
    const rv = record.query['resourceVersion'] ?? '';
    if (fault.as === 'status') {
      res.writeHead(410, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(statusBody(410, { message: `too old resource version: ${rv}` })));
      record.status = 410;
    } else {
      // As the API server does: a 200 watch stream whose one event is the 410 ERROR.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      const event = expiredWatchEvent(rv);
      record.bytes = Buffer.byteLength(event);
      res.end(event);
      record.status = 200;
    }
    finish(record, 'answered');
  });
}

function resetBeforeForwarding(req: IncomingMessage, record: RecordedRequest): void {
  afterBody(req, () => {
    resetSocket(req.socket);
    finish(record, 'reset');
  });
}

/** Passes the upstream body to the client, through a cut or stall when the rule has one. */
function pump(
  ctx: ExchangeContext,
  upRes: IncomingMessage,
  res: ServerResponse,
  record: RecordedRequest,
  fault: CutStreamFault | StallFault | undefined,
): void {
  const gate = fault ? new ThresholdGate(fault) : undefined;
  let struck = false;
  let timer: NodeJS.Timeout | undefined;
  const strike = () => {
    if (struck || !fault) return;
    struck = true;
    ctx.open.clearTimer(timer);
    upRes.destroy();
    if (fault.kind === 'stall') {
      // Nothing more is written; the client's connection stays open until it gives up.
      record.outcome = 'stalled';
      return;
    }
    const socket = res.socket ?? res.req.socket;
    if (fault.mode === 'close') res.end();
    else if (fault.mode === 'reset') resetSocket(socket);
    else socket.end();
    finish(record, 'cut');
  };
  if (gate?.reachedAtStart) {
    strike();
    return;
  }
  if (fault?.afterMs !== undefined) timer = ctx.open.timer(fault.afterMs, strike);
  upRes.on('data', (chunk: Buffer) => {
    if (struck) return;
    const { pass, reached } = gate ? gate.take(chunk) : { pass: chunk, reached: false };
    if (pass.length) {
      record.bytes += pass.length;
      if (!res.write(pass)) {
        upRes.pause();
        res.once('drain', () => upRes.resume());
      }
    }
    if (reached) strike();
  });
  upRes.on('end', () => {
    if (struck) return;
    ctx.open.clearTimer(timer);
    res.end();
    finish(record, 'completed');
  });
  upRes.on('error', () => {
    if (struck) return;
    ctx.open.clearTimer(timer);
    res.destroy();
    finish(record, 'upstream-error');
  });
}

function forward(ctx: ExchangeContext, req: IncomingMessage, res: ServerResponse, record: RecordedRequest, fault: Fault | undefined): void {
  const headers = requestHeaders(req.headers, { plain: record.stream !== undefined });
  const up = ctx.open.track(ctx.upstream.request(record.method, req.url ?? '/', headers));
  const streamFault = fault?.kind === 'cutStream' || fault?.kind === 'stall' ? fault : undefined;
  const resetAfterCommit = fault?.kind === 'reset';
  req.pipe(up);
  res.on('close', () => {
    if (record.outcome === 'completed') return;
    // The client went away (or was cut, or gave up on a stall): the API server's side goes too.
    up.destroy();
    if (record.outcome === 'open') finish(record, 'client-closed');
    else record.endedAt ??= Date.now();
  });
  up.on('response', (upRes) => {
    record.upstreamStatus = upRes.statusCode;
    if (resetAfterCommit) {
      upRes.destroy();
      resetSocket(req.socket);
      finish(record, 'reset');
      return;
    }
    const status = upRes.statusCode ?? 502;
    res.writeHead(status, upRes.statusMessage, responseHeaders(upRes.headers));
    res.flushHeaders();
    record.status = status;
    pump(ctx, upRes, res, record, streamFault);
  });
  up.on('error', (err) => {
    if (record.outcome !== 'open') return;
    if (!res.headersSent) {
      res.writeHead(502, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(statusBody(502, { message: `the fault proxy could not reach the API server: ${err.message}` })));
      record.status = 502;
    } else {
      res.destroy();
    }
    finish(record, 'upstream-error');
  });
}

/** Handles one plain request whose rule (if any) has been picked. */
export function handleExchange(ctx: ExchangeContext, req: IncomingMessage, res: ServerResponse, record: RecordedRequest, fault: Fault | undefined): void {
  switch (fault?.kind) {
    case 'status':
      answerStatus(req, res, record, fault);
      break;
    case 'gone':
      answerGone(req, res, record, fault);
      break;
    case 'reset':
      if (fault.afterCommit) forward(ctx, req, res, record, fault);
      else resetBeforeForwarding(req, record);
      break;
    default:
      forward(ctx, req, res, record, fault);
  }
}
