import { Writable } from 'node:stream';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { JOB_COMMAND, OS_MARKER } from '../pod/containers.js';

/** Where the job container runs. */
export interface ContainerTarget {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
}

/** How long to wait for the job container's first log line before probing with exec. */
const FIRST_LINE_TIMEOUT_MS = 5_000;
/** Deadline of the exec probe. */
const PROBE_TIMEOUT_MS = 30_000;

/**
 * The first line a container logs (`follow`, so a line written just after the container started
 * still arrives), or undefined when none arrives within `timeoutMs` or the request fails.
 */
export async function firstLogLine(client: KubeClient, target: ContainerTarget, timeoutMs: number, signal?: AbortSignal): Promise<string | undefined> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  const onCancel = () => stop.abort();
  signal?.addEventListener('abort', onCancel, { once: true });
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString('utf8');
      if (text.includes('\n')) stop.abort();
      cb();
    },
  });
  try {
    await client.logs({ ...target, follow: true, signal: stop.signal }, sink);
  } catch {
    // Aborted (line complete, timeout, cancelled) or refused: the line or nothing.
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onCancel);
  }
  const newline = text.indexOf('\n');
  return newline >= 0 ? text.slice(0, newline) : undefined;
}

/**
 * Whether the job container's image is Alpine (the runner then uses its Alpine node build for
 * JavaScript actions). Read from the line `JOB_COMMAND` logs; when the container runs another
 * command (a hook template replaced it) or the line does not come, an exec probe decides.
 */
export async function isAlpineContainer(
  client: KubeClient,
  target: ContainerTarget,
  command: readonly string[] | undefined,
  signal?: AbortSignal,
): Promise<boolean> {
  const ours = command !== undefined && command.length === JOB_COMMAND.length && command.every((c, i) => c === JOB_COMMAND[i]);
  if (ours) {
    const line = await firstLogLine(client, target, FIRST_LINE_TIMEOUT_MS, signal);
    if (line?.startsWith(OS_MARKER)) return line.slice(OS_MARKER.length).trim() === 'alpine';
  }
  const probe = await client.exec({
    ...target,
    command: ['sh', '-c', '[ -f /etc/alpine-release ]'],
    timeoutMs: PROBE_TIMEOUT_MS,
    ...(signal ? { signal } : {}),
  });
  return probe.exitCode === 0;
}
