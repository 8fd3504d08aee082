import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, type Readable, Writable } from 'node:stream';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { HookError } from '../errors.js';
import { EXTERNALS_REL, GITHUB_HOME_REL, GITHUB_WORKFLOW_REL } from '../workspace/paths.js';

/** A container to copy to or from. */
export interface PodTarget {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
}

/** Collects a stream's text (for error messages), bounded. */
class TextSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    if (this.text.length < 8192) this.text += chunk.toString('utf8');
    cb();
  }
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/**
 * A local `tar -c` of `paths` (relative to `root`) as a stream, and its completion. The archive
 * is piped into a stream of our own at once: Node discards what a child wrote to an unread stdout
 * when the child exits, and a small archive is complete long before an exec connection is open.
 */
export function localTar(root: string, paths: readonly string[]): { stream: Readable; done: Promise<void> } {
  const child = spawn('tar', ['-c', '-f', '-', '-C', root, ...paths], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stream = new PassThrough();
  child.stdout?.pipe(stream);
  const err = new TextSink();
  child.stderr?.pipe(err);
  const done = exited(child).then((code) => {
    if (code !== 0) throw new HookError('COPY_FAILED', `tar could not read ${paths.join(', ')} in ${root} (exit ${code}): ${err.text.trim()}`);
  });
  return { stream, done };
}

/**
 * Folders the kubelet creates as root in a copy-mode work volume (parents of subPath mounts). An
 * archive of `_work` names them; a non-root job user cannot restore their mode or times.
 */
export const KUBELET_FOLDERS: readonly string[] = ['_temp', GITHUB_HOME_REL, GITHUB_WORKFLOW_REL, EXTERNALS_REL];

/** The script of `untarCommand`; `$1` is the target folder. */
export const UNTAR_SCRIPT = [
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

function copyError(what: string, detail: string, cause?: unknown): HookError {
  return new HookError('COPY_FAILED', `Copying ${what} failed: ${detail}`, {
    cause,
    hint: 'The job container needs `sh` and `tar`; in copy mode every step depends on these copies.',
  });
}

/** Copies local `paths` (relative to `root`) into `dir` in the container, over exec. */
export async function copyToPod(client: KubeClient, to: PodTarget, root: string, paths: readonly string[], dir: string, signal?: AbortSignal): Promise<void> {
  if (paths.length === 0) return;
  const what = `${paths.join(', ')} into ${to.pod}:${dir}`;
  const tar = localTar(root, paths);
  const stderr = new TextSink();
  let exitCode: number;
  try {
    ({ exitCode } = await client.exec({ ...to, command: untarCommand(dir), stdin: tar.stream, stderr, stdout: stderr, ...(signal ? { signal } : {}) }));
  } catch (err) {
    tar.stream.destroy();
    throw copyError(what, (err as Error).message, err);
  }
  await tar.done.catch((err: unknown) => {
    throw copyError(what, (err as Error).message, err);
  });
  if (exitCode !== 0) throw copyError(what, `tar in the pod exited with ${exitCode}: ${stderr.text.trim()}`);
}

/** Copies `paths` (relative to `dir` in the container) into the local `root`, over exec. */
export async function copyFromPod(client: KubeClient, from: PodTarget, dir: string, paths: readonly string[], root: string, signal?: AbortSignal): Promise<void> {
  if (paths.length === 0) return;
  const what = `${paths.join(', ')} from ${from.pod}:${dir}`;
  const child = spawn('tar', ['-x', '-f', '-', '-C', root], { stdio: ['pipe', 'ignore', 'pipe'] });
  const localErr = new TextSink();
  child.stderr?.pipe(localErr);
  const local = exited(child);
  const out = new PassThrough();
  out.pipe(child.stdin as Writable);
  const stderr = new TextSink();
  let exitCode: number;
  try {
    ({ exitCode } = await client.exec({ ...from, command: tarCommand(dir, paths), stdout: out, stderr, ...(signal ? { signal } : {}) }));
  } catch (err) {
    out.end();
    child.kill();
    await local.catch(() => 0);
    throw copyError(what, (err as Error).message, err);
  } finally {
    out.end();
  }
  const localCode = await local;
  if (exitCode !== 0) throw copyError(what, `tar in the pod exited with ${exitCode}: ${stderr.text.trim()}`);
  if (localCode !== 0) throw copyError(what, `local tar exited with ${localCode}: ${localErr.text.trim()}`);
}

/** Streams `paths` under `fromDir` in one container to `toDir` in another, without local files. */
export async function copyBetweenPods(
  client: KubeClient,
  from: PodTarget,
  fromDir: string,
  paths: readonly string[],
  to: PodTarget,
  toDir: string,
  signal?: AbortSignal,
): Promise<void> {
  if (paths.length === 0) return;
  const what = `${paths.join(', ')} from ${from.pod}:${fromDir} to ${to.pod}:${toDir}`;
  const pipe = new PassThrough();
  const srcErr = new TextSink();
  const dstErr = new TextSink();
  const sig = signal ? { signal } : {};
  const source = client.exec({ ...from, command: tarCommand(fromDir, paths), stdout: pipe, stderr: srcErr, ...sig }).finally(() => pipe.end());
  const dest = client.exec({ ...to, command: untarCommand(toDir), stdin: pipe, stdout: dstErr, stderr: dstErr, ...sig });
  const [s, d] = await Promise.allSettled([source, dest]);
  // The source's failure explains the destination's (which then saw a cut-off archive).
  if (s.status === 'rejected') throw copyError(what, (s.reason as Error).message, s.reason);
  if (s.value.exitCode !== 0) throw copyError(what, `tar in ${from.pod} exited with ${s.value.exitCode}: ${srcErr.text.trim()}`);
  if (d.status === 'rejected') throw copyError(what, `${(d.reason as Error).message}${dstErr.text.trim() ? ` (${dstErr.text.trim()})` : ''}`, d.reason);
  if (d.value.exitCode !== 0) throw copyError(what, `tar in ${to.pod} exited with ${d.value.exitCode}: ${dstErr.text.trim()}`);
}
