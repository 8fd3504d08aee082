import { spawn, type ChildProcess } from 'node:child_process';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable, Writable } from 'node:stream';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { HookError } from '../errors.js';
import { onceMoreAfterConnectionFailure } from './once-more.js';
import { EXTERNALS_REL, GITHUB_HOME_REL, GITHUB_WORKFLOW_REL } from '../workspace/paths.js';
import { ArchiveRejectedError, DEFAULT_COPY_BACK_LIMITS, type CopyBackLimits } from './archive-member.js';
import { placeStaged, stageArchive, withStagingDir } from './safe-extract.js';

/** A container to copy to or from. */
export interface PodTarget {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
}

const MAX_TEXT = 8192;

/** Collects a stream's text (for messages and short answers): its first `limit` characters, however large a chunk. */
export class TextSink extends Writable {
  text = '';
  constructor(private readonly limit = MAX_TEXT) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    if (this.text.length < this.limit) this.text = (this.text + chunk.toString('utf8')).slice(0, this.limit);
    cb();
  }
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** The first folder between `root` and one of `paths` that is a symbolic link (or not a folder), if any. */
async function linkAbove(root: string, paths: readonly string[]): Promise<string | undefined> {
  for (const rel of paths) {
    const parts = rel.split('/').filter((p) => p && p !== '.');
    for (let i = 1; i < parts.length; i++) {
      const sub = parts.slice(0, i).join('/');
      const st = await lstat(join(root, sub)).catch(() => undefined);
      if (st && !st.isDirectory()) return sub;
    }
  }
  return undefined;
}

/**
 * A local `tar -c` of `paths` (relative to `root`) as a stream, and its completion. The archive
 * is piped into a stream of our own at once: Node discards what a child wrote to an unread stdout
 * when the child exits, and a small archive is complete long before an exec connection is open.
 * tar archives a symbolic link as a link (no `-h`), so nothing is read through one; a link in a
 * folder above one of `paths` (which tar would follow) fails the copy and sends an empty stream.
 */
export function localTar(root: string, paths: readonly string[]): { stream: Readable; done: Promise<void> } {
  const stream = new PassThrough();
  const err = new TextSink();
  const done = linkAbove(root, paths).then(async (link) => {
    if (link) {
      stream.end();
      throw new HookError(
        'COPY_FAILED',
        `Not sending ${paths.join(', ')} from ${root}: ${link} is a symbolic link or not a folder, and the hook reads nothing through a link`,
      );
    }
    const child = spawn('tar', ['-c', '-f', '-', '-C', root, ...paths], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(stream);
    child.stderr?.pipe(err);
    const code = await exited(child);
    if (code !== 0) throw new HookError('COPY_FAILED', `tar could not read ${paths.join(', ')} in ${root} (exit ${code}): ${err.text.trim()}`);
  });
  // Awaited by the caller after the exec that reads `stream`; never an unhandled rejection before.
  done.catch(() => undefined);
  return { stream, done };
}

/**
 * Folders the kubelet creates as root in a copy-mode work volume (parents of subPath mounts). An
 * archive of `_work` names them; a non-root job user cannot restore their mode or times.
 */
const KUBELET_FOLDERS: readonly string[] = ['_temp', GITHUB_HOME_REL, GITHUB_WORKFLOW_REL, EXTERNALS_REL];

/** The script of `untarCommand`; `$1` is the target folder. */
const UNTAR_SCRIPT = [
  'mkdir -p "$1" || exit',
  // GNU tar: extract the contents of the kubelet's folders but leave the folders themselves alone
  // (exact names at the archive root only; --no-recursion keeps their contents).
  `case "$(tar --version 2>/dev/null)" in *GNU*) set -- "$1" --anchored --no-recursion ${KUBELET_FOLDERS.map((f) => `--exclude=${f}`).join(' ')};; esac`,
  'tar -xf - -C "$@"',
  'rc=$?',
  'cat > /dev/null',
  'exit "$rc"',
].join('\n');

/**
 * The in-pod command that extracts a tar from stdin into `dir` (created if missing). It reads
 * stdin to the end even when tar stops early (busybox tar stops at the end-of-archive blocks
 * and ignores the padding after them; a failing tar stops at once), so the exec stream stays
 * open until all input is sent and ends with tar's own exit status.
 */
export function untarCommand(dir: string): string[] {
  return ['sh', '-c', UNTAR_SCRIPT, 'zrh', dir];
}

/** The in-pod command that writes a tar of `paths` (relative to `dir`) to stdout. */
export function tarCommand(dir: string, paths: readonly string[]): string[] {
  return ['tar', '-cf', '-', '-C', dir, ...paths];
}

/**
 * Deadline of each exec of a copy: generous (a workspace of many GB goes through one), but a copy
 * whose connection died without a word, or whose `tar` the job made hang, ends.
 */
export const COPY_TIMEOUT_MS = 30 * 60_000;

function copyError(what: string, detail: string, cause?: unknown): HookError {
  return new HookError('COPY_FAILED', `Copying ${what} failed: ${detail}`, {
    cause,
    hint: 'The job container needs `sh` and `tar`; in copy mode every step depends on these copies.',
  });
}

/** Copies local `paths` (relative to `root`) into `dir` in the container, over exec (once more after a connection failure: `onceMoreAfterConnectionFailure`). */
export function copyToPod(client: KubeClient, to: PodTarget, root: string, paths: readonly string[], dir: string, signal?: AbortSignal): Promise<void> {
  return onceMoreAfterConnectionFailure(() => copyToPodOnce(client, to, root, paths, dir, signal), signal);
}

async function copyToPodOnce(client: KubeClient, to: PodTarget, root: string, paths: readonly string[], dir: string, signal?: AbortSignal): Promise<void> {
  if (paths.length === 0) return;
  const what = `${paths.join(', ')} into ${to.pod}:${dir}`;
  const tar = localTar(root, paths);
  const stderr = new TextSink();
  let exitCode: number;
  try {
    ({ exitCode } = await client.exec({
      ...to,
      command: untarCommand(dir),
      stdin: tar.stream,
      stderr,
      stdout: stderr,
      timeoutMs: COPY_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
    }));
  } catch (err) {
    tar.stream.destroy();
    throw copyError(what, (err as Error).message, err);
  }
  await tar.done.catch((err: unknown) => {
    throw copyError(what, (err as Error).message, err);
  });
  if (exitCode !== 0) throw copyError(what, `tar in the pod exited with ${exitCode}: ${stderr.text.trim()}`);
}

/** What `copyFromPod` copies, from where to where. */
export interface CopyFromPodOptions {
  /** The folder in the container that `allowed` is relative to. */
  readonly dir: string;
  /**
   * The folders (relative to `dir` and `root`) this call may bring back: the only ones asked for
   * and the only ones accepted. Any other member of the archive fails the copy.
   */
  readonly allowed: readonly string[];
  /** The runner-side folder they land in. */
  readonly root: string;
  /** @default DEFAULT_COPY_BACK_LIMITS */
  readonly limits?: CopyBackLimits;
  readonly signal?: AbortSignal;
}

/**
 * Copies the `allowed` folders from the container into the runner's `root`, over exec. The archive
 * comes from the job's side and is hostile input: it is parsed here, accepted only when every
 * member is a regular file or folder inside `allowed` and within the limits, staged in a private
 * folder, and moved into place without following links (safe-extract.ts). A refused archive
 * changes nothing on the runner's side and fails with the member and the rule it broke. Once more after a
 * connection failure (`onceMoreAfterConnectionFailure`).
 */
export function copyFromPod(client: KubeClient, from: PodTarget, options: CopyFromPodOptions): Promise<void> {
  return onceMoreAfterConnectionFailure(() => copyFromPodOnce(client, from, options), options.signal);
}

async function copyFromPodOnce(client: KubeClient, from: PodTarget, options: CopyFromPodOptions): Promise<void> {
  const { dir, allowed, root, limits = DEFAULT_COPY_BACK_LIMITS, signal } = options;
  if (allowed.length === 0) return;
  const what = `${allowed.join(', ')} from ${from.pod}:${dir}`;
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const out = new PassThrough();
  // A refused archive ends the parser's side of `out` while the exec may still be writing to it.
  out.on('error', () => undefined);
  const stderr = new TextSink();
  try {
    await withStagingDir(async (staging) => {
      const staged = stageArchive(out, staging, allowed, limits).catch((err: unknown) => {
        stop.abort(err);
        throw err;
      });
      const exec = client
        .exec({ ...from, command: tarCommand(dir, allowed), stdout: out, stderr, signal: stop.signal, timeoutMs: COPY_TIMEOUT_MS })
        .finally(() => out.end());
      const [s, e] = await Promise.allSettled([staged, exec]);
      // A refused member explains a stopped exec; a failed exec or tar explains a cut-off archive.
      if (s.status === 'rejected' && !isCutOff(s.reason)) throw rejected(what, s.reason);
      if (e.status === 'rejected') throw copyError(what, (e.reason as Error).message, e.reason);
      if (e.value.exitCode !== 0) throw copyError(what, `tar in the pod exited with ${e.value.exitCode}: ${stderr.text.trim()}`);
      if (s.status === 'rejected') throw rejected(what, s.reason);
      try {
        await placeStaged(s.value, root);
      } catch (err) {
        throw rejected(what, err);
      }
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Whether a staging failure is the archive being cut off or garbled (which a failed exec or tar explains). */
function isCutOff(err: unknown): boolean {
  return err instanceof ArchiveRejectedError && !err.member && /not a valid tar/.test(err.rule);
}

function rejected(what: string, err: unknown): HookError {
  if (!(err instanceof ArchiveRejectedError)) return copyError(what, (err as Error).message, err);
  return new HookError('COPY_FAILED', `Copying ${what} to the runner was refused: ${err.message}`, {
    cause: err,
    hint: 'In copy mode only regular files and folders inside the folders a step may return come back to the runner; nothing of this archive was used. The job (or its image) sent something else: check what the step writes there.',
  });
}

/**
 * Streams `paths` under `fromDir` in one container to `toDir` in another, without local files (once
 * more after a connection failure: `onceMoreAfterConnectionFailure`). With `destinationReady`, the
 * source starts at once and the destination once it resolves: the archive's start waits in the
 * pipe (the source is paused when it is full), and a rejection stops the source.
 */
export function copyBetweenPods(
  client: KubeClient,
  from: PodTarget,
  fromDir: string,
  paths: readonly string[],
  to: PodTarget,
  toDir: string,
  signal?: AbortSignal,
  destinationReady?: Promise<unknown>,
): Promise<void> {
  return onceMoreAfterConnectionFailure(() => copyBetweenPodsOnce(client, from, fromDir, paths, to, toDir, signal, destinationReady), signal);
}

async function copyBetweenPodsOnce(
  client: KubeClient,
  from: PodTarget,
  fromDir: string,
  paths: readonly string[],
  to: PodTarget,
  toDir: string,
  signal?: AbortSignal,
  destinationReady: Promise<unknown> = Promise.resolve(),
): Promise<void> {
  if (paths.length === 0) return;
  const what = `${paths.join(', ')} from ${from.pod}:${fromDir} to ${to.pod}:${toDir}`;
  const pipe = new PassThrough();
  const srcErr = new TextSink();
  const dstErr = new TextSink();
  // A destination that fails reads no more: the source is stopped, else it would wait on the full
  // pipe until its deadline.
  const stopSource = new AbortController();
  const sourceSignal = signal ? AbortSignal.any([signal, stopSource.signal]) : stopSource.signal;
  let sourceSettled = false;
  const source = client
    .exec({ ...from, command: tarCommand(fromDir, paths), stdout: pipe, stderr: srcErr, timeoutMs: COPY_TIMEOUT_MS, signal: sourceSignal })
    .finally(() => {
      sourceSettled = true;
      pipe.end();
    });
  const dest = destinationReady.then(() =>
    client.exec({
      ...to,
      command: untarCommand(toDir),
      stdin: pipe,
      stdout: dstErr,
      stderr: dstErr,
      timeoutMs: COPY_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
    }),
  );
  const stopIfSourceRuns = () => {
    if (sourceSettled) return;
    stopSource.abort();
    pipe.resume();
  };
  dest.then((r) => r.exitCode !== 0 && stopIfSourceRuns(), stopIfSourceRuns);
  const [s, d] = await Promise.allSettled([source, dest]);
  const destError = () =>
    d.status === 'rejected'
      ? copyError(what, `${(d.reason as Error).message}${dstErr.text.trim() ? ` (${dstErr.text.trim()})` : ''}`, d.reason)
      : d.value.exitCode !== 0
        ? copyError(what, `tar in ${to.pod} exited with ${d.value.exitCode}: ${dstErr.text.trim()}`)
        : undefined;
  // The source's failure explains the destination's (which then saw a cut-off archive), unless
  // the source was stopped because the destination had failed.
  if (stopSource.signal.aborted && !signal?.aborted) throw destError() ?? copyError(what, 'the destination stopped reading');
  if (s.status === 'rejected') throw copyError(what, (s.reason as Error).message, s.reason);
  if (s.value.exitCode !== 0) throw copyError(what, `tar in ${from.pod} exited with ${s.value.exitCode}: ${srcErr.text.trim()}`);
  const failed = destError();
  if (failed) throw failed;
}
