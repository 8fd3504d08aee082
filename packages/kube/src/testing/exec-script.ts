import type { Readable, Writable } from 'node:stream';
import { ExecAbortedError, ExecStreamError } from '../errors.js';
import type { ExecOptions, ExecResult, LogOptions } from '../types.js';

/** Which exec a script entry answers: a word of the command, a RegExp on the command joined by spaces, or a test. */
export type ExecMatch = string | RegExp | ((options: ExecOptions) => boolean);

/** How a scripted exec ends. */
export interface ExecOutcome {
  /** @default 0 */
  readonly exitCode?: number;
  readonly stdout?: string | Buffer;
  readonly stderr?: string | Buffer;
  /**
   * The stream is lost after the output: the exec rejects with an `ExecStreamError`
   * (`EXEC_STREAM_LOST`) with this message (`true`: a default one).
   */
  readonly lost?: boolean | string;
  /** Rejects with this error after the output (e.g. a `KubeConnectionError`). */
  readonly error?: Error;
  /** Runs until its signal aborts, then rejects with an `ExecAbortedError`. */
  readonly hang?: boolean;
}

/** A scripted answer: an outcome, or a function of the request that returns one. */
export type ExecReply = ExecOutcome | ((options: ExecOptions) => ExecOutcome | Promise<ExecOutcome>);

/** Which log request a script entry answers: a container name, or a test. */
export type LogMatch = string | ((options: LogOptions) => boolean);

/** How a scripted log request ends. */
export interface LogOutcome {
  readonly text?: string;
  /** Rejects with this error after the text. */
  readonly error?: Error;
}

export type LogReply = LogOutcome | ((options: LogOptions) => LogOutcome | Promise<LogOutcome>);

/** One script entry; `times` answers left (Infinity: every one). */
export interface ScriptEntry<M, R> {
  readonly match: M;
  readonly reply: R;
  times: number;
}

/** The first entry that matches, counted down (and removed when used up). */
export function take<M, R>(entries: ScriptEntry<M, R>[], matches: (m: M) => boolean): R | undefined {
  const i = entries.findIndex((e) => matches(e.match));
  const entry = entries[i];
  if (!entry) return undefined;
  if (--entry.times <= 0) entries.splice(i, 1);
  return entry.reply;
}

export function execMatches(match: ExecMatch, options: ExecOptions): boolean {
  if (typeof match === 'function') return match(options);
  if (match instanceof RegExp) return match.test(options.command.join(' '));
  return options.command.includes(match);
}

export function logMatches(match: LogMatch, options: LogOptions): boolean {
  return typeof match === 'function' ? match(options) : options.container === match;
}

/** Reads all of an exec's stdin (a stream, a buffer or a string). */
export async function drain(stdin: ExecOptions['stdin']): Promise<Buffer> {
  if (stdin === undefined) return Buffer.alloc(0);
  if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) return Buffer.from(stdin);
  const chunks: Buffer[] = [];
  for await (const chunk of stdin as Readable) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

function write(out: Writable | undefined, data: string | Buffer | undefined): Promise<void> {
  if (!out || data === undefined || data.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => out.write(data, (err) => (err ? reject(err) : resolve())));
}

/** Plays `outcome` on the exec's streams, as the real exec would. */
export async function playExec(options: ExecOptions, outcome: ExecOutcome): Promise<ExecResult> {
  await write(options.stdout, outcome.stdout);
  await write(options.stderr, outcome.stderr);
  if (outcome.hang) {
    await new Promise<void>((resolve) => {
      if (options.signal?.aborted) return resolve();
      options.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    throw new ExecAbortedError(`the exec in pod ${options.namespace}/${options.pod} was stopped`);
  }
  if (outcome.lost) {
    throw new ExecStreamError(
      typeof outcome.lost === 'string' ? outcome.lost : `the exec stream of pod ${options.namespace}/${options.pod} ended without an exit status`,
    );
  }
  if (outcome.error) throw outcome.error;
  return { exitCode: outcome.exitCode ?? 0, protocol: 'v5.channel.k8s.io' };
}

/** Plays `outcome` of a log request: the text, to `out` when given (left open), else as the result. */
export async function playLogs(outcome: LogOutcome, out: Writable | undefined): Promise<string> {
  const text = outcome.text ?? '';
  if (out) await write(out, text);
  if (outcome.error) throw outcome.error;
  return out ? '' : text;
}
