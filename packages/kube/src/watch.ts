import type { IncomingMessage } from 'node:http';
import { toApiError, type RequestContext, type StatusBody } from './api-error.js';
import { KubeError } from './errors.js';
import type { WatchEvent, WatchEventType, WatchHandler } from './types.js';

const EVENT_TYPES = new Set<string>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/**
 * Splits a byte stream into lines, across chunk boundaries (a line or even a multi-byte UTF-8
 * character may arrive split over several chunks). Empty lines are dropped.
 */
export class LineSplitter {
  private pending: Buffer[] = [];

  /** Feeds one chunk and returns the lines it completed. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    let nl = chunk.indexOf(10);
    while (nl !== -1) {
      const piece = chunk.subarray(start, nl);
      const line = this.pending.length ? Buffer.concat([...this.pending, piece]).toString('utf8') : piece.toString('utf8');
      this.pending = [];
      if (line.trim() !== '') lines.push(line);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
    return lines;
  }

  /** The unterminated rest at end of stream, if any. */
  end(): string | undefined {
    const rest = Buffer.concat(this.pending).toString('utf8');
    this.pending = [];
    return rest.trim() === '' ? undefined : rest;
  }
}

/** Decodes one watch line; an `ERROR` event becomes a thrown `KubeApiError` (410 → code `GONE`). */
export function decodeWatchLine<T>(line: string, ctx: RequestContext): WatchEvent<T> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new KubeError('WATCH_DECODE', `watch of ${ctx.resource} sent a line that is not JSON (${line.length} bytes)`, { cause: err });
  }
  const ev = value as { type?: unknown; object?: unknown } | null;
  if (!ev || typeof ev !== 'object' || typeof ev.type !== 'string' || !EVENT_TYPES.has(ev.type) || !ev.object || typeof ev.object !== 'object') {
    throw new KubeError('WATCH_DECODE', `watch of ${ctx.resource} sent a line that is not a watch event`);
  }
  if (ev.type === 'ERROR') {
    const status = ev.object as StatusBody;
    throw toApiError(typeof status.code === 'number' ? status.code : 500, status, { ...ctx, verb: 'watch' });
  }
  return { type: ev.type as WatchEventType, object: ev.object as T };
}

/**
 * Feeds the events of a watch response to `handler` until it returns true (resolves with that
 * object), the stream ends or `signal` aborts (resolves `undefined`), or a line is an error.
 * A stream cut off by the server or the network rejects with code `WATCH_CUT`.
 */
export function consumeWatch<T>(res: IncomingMessage, handler: WatchHandler<T>, ctx: RequestContext, signal?: AbortSignal): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    const lines = new LineSplitter();
    let done = false;
    let ended = false;
    let queue: Promise<void> = Promise.resolve();
    const finish = (err: unknown, value?: T) => {
      if (done) return;
      done = true;
      signal?.removeEventListener('abort', onAbort);
      res.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const onAbort = () => finish(undefined);
    if (signal?.aborted) return finish(undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    const cut = (cause?: unknown) => {
      if (signal?.aborted) return finish(undefined);
      finish(
        new KubeError('WATCH_CUT', `the watch of ${ctx.resource} was cut off by the server or network${cause instanceof Error ? ` (${cause.message})` : ''}`, {
          cause,
        }),
      );
    };

    const handle = (line: string) => {
      // Events are handled one at a time, in order, even when the handler is async.
      queue = queue.then(async () => {
        if (done) return;
        const event = decodeWatchLine<T>(line, ctx);
        if ((await handler(event)) === true) finish(undefined, event.object);
      });
      queue.catch((err: unknown) => finish(err));
    };
    res.on('data', (chunk: Buffer) => {
      for (const line of lines.push(chunk)) handle(line);
    });
    res.on('end', () => {
      ended = true;
      const rest = lines.end();
      if (rest !== undefined) handle(rest);
      void queue.then(
        () => finish(undefined),
        () => undefined,
      );
    });
    res.on('error', (err) => cut(err));
    res.on('aborted', () => cut());
    res.on('close', () => {
      if (!ended) cut();
    });
  });
}
