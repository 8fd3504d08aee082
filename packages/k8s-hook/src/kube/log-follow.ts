import { Writable } from 'node:stream';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { errorCode } from '../errors.js';
import type { Logger } from '../log.js';

/** Where in a timestamped log a follow got to: the last line's time and how many lines had it. */
export interface LogPosition {
  /** Nanoseconds since the epoch of the last complete line passed on. */
  readonly ns: bigint;
  /** Lines passed on with exactly that time (a resumed follow skips as many). */
  readonly count: number;
  /** The time as the server wrote it (RFC 3339), for `sinceTime`. */
  readonly stamp: string;
}

/** `2026-12-04T14:22:58.123456789Z` (kubelet's RFC 3339 with up to 9 fraction digits) to ns. */
export function stampToNs(stamp: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(stamp);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * Takes a `timestamps=true` log stream, passes each line on without its time, and remembers the
 * position, so that a follow cut off mid-way resumes (`sinceTime`, whole seconds) without lines
 * twice: lines before `resume` (and the first `resume.count` lines at its time) are skipped.
 */
export class StampedLogLines extends Writable {
  private pending = '';
  private last: LogPosition | undefined;
  /** Lines seen at exactly `resume.ns` (skipped up to `resume.count`). */
  private atResume = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly resume: LogPosition | undefined,
  ) {
    super({ decodeStrings: true });
    this.last = resume;
  }

  /** The position after the last complete line (or where this follow resumed from). */
  get position(): LogPosition | undefined {
    return this.last;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error) => void): void {
    this.pending += chunk.toString('utf8');
    let nl = this.pending.indexOf('\n');
    while (nl !== -1) {
      this.line(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
      nl = this.pending.indexOf('\n');
    }
    cb();
  }

  /** The stream ended normally: an unterminated last line is passed on as it is. */
  finish(): void {
    if (this.pending !== '') this.line(this.pending, false);
    this.pending = '';
  }

  private line(raw: string, newline = true): void {
    const space = raw.indexOf(' ');
    const stamp = space > 0 ? raw.slice(0, space) : '';
    const ns = stampToNs(stamp);
    if (ns === undefined) {
      this.out.write(newline ? `${raw}\n` : raw);
      return;
    }
    if (this.resume && ns <= this.resume.ns) {
      // Already passed on by the follow this one resumes: skipped.
      if (ns < this.resume.ns) return;
      this.atResume += 1;
      if (this.atResume <= this.resume.count) return;
    }
    this.last = { ns, count: this.last?.ns === ns ? this.last.count + 1 : 1, stamp };
    const text = raw.slice(space + 1);
    this.out.write(newline ? `${text}\n` : text);
  }
}

/** `sinceTime` (whole seconds: the API takes no fraction) to resume a follow at `position`. */
function resumeFrom(position: LogPosition | undefined): { sinceTime?: string } {
  return position ? { sinceTime: position.stamp.replace(/\.\d+/, '') } : {};
}

/** Inputs of `followLog`. */
export interface FollowLogOptions {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly out: NodeJS.WritableStream;
  /** No byte for this long: the follow is checked (`running`) and resumed or ended. */
  readonly idleTimeoutMs: number;
  /** Whether the container still runs (a stalled follow of a running container is resumed). */
  readonly running: () => Promise<boolean>;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** Resumes at most this many times. @default 20 */
  readonly maxResumes?: number;
}

/**
 * Follows a container's log to its end. A stream that is cut off, fails or stays silent for
 * `idleTimeoutMs` is resumed from its last line while the container runs, and ended (after the
 * lines written meanwhile are read) once it does not; no line is passed on twice. Never throws
 * except when `signal` aborts; a follow that cannot be completed is a warning naming the
 * container (the step's exit code is read from the pod, not from the log).
 */
export async function followLog(client: KubeClient, o: FollowLogOptions): Promise<void> {
  const target = { namespace: o.namespace, pod: o.pod, container: o.container };
  const what = `the log of container "${o.container}" in pod ${o.pod}`;
  let position: LogPosition | undefined;
  const maxResumes = o.maxResumes ?? 20;
  for (let resumes = 0; ; resumes++) {
    const lines = new StampedLogLines(o.out, position);
    let problem: string;
    try {
      await client.logs(
        {
          ...target,
          follow: true,
          timestamps: true,
          idleTimeoutMs: o.idleTimeoutMs,
          signal: o.signal,
          ...resumeFrom(position),
        },
        lines,
      );
      if (o.signal.aborted) return;
      lines.finish();
      return;
    } catch (err) {
      if (o.signal.aborted) throw err;
      problem = errorCode(err) === 'LOG_IDLE' ? `no output for ${o.idleTimeoutMs / 1000} s` : (err as Error).message;
    }
    position = lines.position;
    let running: boolean;
    try {
      running = await o.running();
    } catch (err) {
      o.log.warning(`Stopped following ${what} (${problem}), and whether the container still runs could not be read: ${(err as Error).message}`);
      return;
    }
    if (resumes >= maxResumes) {
      o.log.warning(`Stopped following ${what} after ${resumes} resumed follows (${problem}); the rest of its output is in the pod's log`);
      return;
    }
    if (!running) {
      // The container has ended: what it wrote since the last line, read once without follow.
      o.log.debug(`Following ${what}: ${problem}; the container has ended, reading the rest`);
      const rest = new StampedLogLines(o.out, position);
      try {
        await client.logs({ ...target, timestamps: true, signal: o.signal, ...resumeFrom(position) }, rest);
        rest.finish();
      } catch (err) {
        if (o.signal.aborted) throw err;
        o.log.warning(`The end of ${what} could not be read (${problem}; then ${(err as Error).message}); the step's exit code is not affected`);
      }
      return;
    }
    o.log.debug(`Following ${what}: ${problem}; resuming from ${position?.stamp ?? 'the start'}`);
  }
}
