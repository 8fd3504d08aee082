import { HookError } from '../../errors.js';
import { KubeApiError, KubeConnectionError } from '@zfs-runner-hooks/kube';
import { onceMoreAfterConnectionFailure } from '../../kube/once-more.js';
import { copyBetweenPods, copyFromPod, copyToPod, TextSink, type PodTarget } from '../../kube/tar.js';
import { waitForPod } from '../../kube/wait-pod.js';
import { HELPER_WORK, IO_CONTAINER, READY_MARKER } from '../../pod/step-pod.js';
import type { WorkspaceState } from '../../protocol/state.js';
import { outermost, type StepMount } from '../mounts.js';
import { CONTAINER_WORK, EXTERNALS_REL, FILE_COMMANDS_REL, relativeInside } from '../paths.js';
import type { Mark, StepPodRef, WorkspaceIo } from './workspace.js';

/** Where the step mounts' contents come from: the runner (file commands, externals) or the job pod. */
export interface StepSources {
  readonly local: string[];
  readonly fromJob: string[];
  readonly externals: string[];
}

/** Which step mounts come from the runner (file commands, externals) and which from the job pod. */
export function splitSources(mounts: readonly StepMount[]): StepSources {
  const rels = mounts.map((m) => m.rel);
  const isExternal = (r: string) => r === EXTERNALS_REL || r.startsWith(`${EXTERNALS_REL}/`);
  return {
    // The runner writes fresh file-command files before each step: they always come from it, and
    // are sent after the job pod's copy (which may hold an older `_temp`).
    local: rels.includes(FILE_COMMANDS_REL) ? [FILE_COMMANDS_REL] : [],
    externals: outermost(rels.filter(isExternal)),
    fromJob: outermost(rels.filter((r) => r !== FILE_COMMANDS_REL && !isExternal(r))),
  };
}

/**
 * Copy mode: fills the step pod's volume while its `zrh-io` container holds the step (its
 * `postStart` hook waits for the ready marker), then releases it. The job pod's folders and the
 * externals go in at the same time; the runner's file commands too, unless a folder from the job
 * pod holds them (then they follow it, so the fresh files win).
 */
export async function copyIntoStepPod(
  io: WorkspaceIo,
  ws: WorkspaceState,
  step: StepPodRef,
  mounts: readonly StepMount[],
  rv: string | undefined,
  mark: Mark,
): Promise<void> {
  const { namespace, pod } = step;
  const helper: PodTarget = { namespace, pod, container: IO_CONTAINER };
  // The job pod's archive starts while the step pod comes up; it waits in the pipe until the
  // helper takes it.
  const reached = whenReachable(io, helper, rv).then(() => mark('helper reachable'));
  const { local, fromJob, externals } = splitSources(mounts);
  const job = step.jobContainer;
  const jobFolders = job && fromJob.length ? fromJob : [];
  const fromJobCopy = job && jobFolders.length ? copyBetweenPods(io.client, job, CONTAINER_WORK, jobFolders, helper, HELPER_WORK, io.signal, reached) : reached;
  const localAfterJob = local.some((l) => jobFolders.some((j) => j === '' || relativeInside(j, l) !== undefined));
  const ext = externals.map((r) => r.slice(EXTERNALS_REL.length + 1)).filter(Boolean);
  const copies = [
    fromJobCopy,
    (localAfterJob ? fromJobCopy : reached).then(() => copyToPod(io.client, helper, ws.workDir, local, HELPER_WORK, io.signal)),
    reached.then(() => copyToPod(io.client, helper, ws.externalsDir, ext, `${HELPER_WORK}/${EXTERNALS_REL}`, io.signal)),
  ];
  // Every copy is settled before the first failure is thrown: none is left writing into the pod.
  // A step pod that never came up explains the copies' failures.
  const [reach, ...settled] = await Promise.allSettled([reached, ...copies]);
  if (reach?.status === 'rejected') throw reach.reason;
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  mark('copied in');
  await releaseStepPod(io, helper);
}

/** How long the poll for the helper container waits between two tries. */
const REACH_INTERVAL_MS = 100;

/** An exec refused in a way that changes once the container runs: the pod has no node yet (400), the kubelet knows no such container yet (500), or the server is busy. */
function notThereYet(err: unknown): boolean {
  if (err instanceof KubeApiError) return err.status === 400 || err.status === 429 || err.status >= 500;
  return err instanceof KubeConnectionError;
}

/**
 * Resolves once an exec into the helper container works. The pod status does not show that
 * container running while its `postStart` hook holds the pod (the kubelet posts it after the
 * hook), so once the kubelet has reported the pod (its first container statuses), execs are tried
 * every 100 ms; a watch of the pod meanwhile fails the wait with the reason a user needs (image
 * pull errors, an unschedulable pod, deletion, the pod timeout).
 */
async function whenReachable(io: WorkspaceIo, helper: PodTarget, rv: string | undefined): Promise<void> {
  const done = new AbortController();
  const signal = AbortSignal.any([io.signal, done.signal]);
  let kubeletSawIt!: () => void;
  const onNode = new Promise<void>((resolve) => (kubeletSawIt = resolve));
  const watched = waitForPod(io.client, {
    onPod: (pod) => {
      if (pod.status?.containerStatuses?.length) kubeletSawIt();
    },
    namespace: helper.namespace,
    name: helper.pod,
    goal: { kind: 'running', container: IO_CONTAINER },
    resourceVersion: rv,
    timeoutSeconds: io.config.podTimeoutSeconds,
    unschedulableGraceSeconds: io.config.unschedulableGraceSeconds,
    log: io.log,
    signal,
    what: 'Step pod',
  });
  // Only the watch's failure counts: a pod shown running is reachable, and the execs see it too.
  const failed = watched.then(() => new Promise<never>(() => undefined));
  const reached = (async () => {
    await Promise.race([onNode, new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
    for (;;) {
      try {
        const { exitCode } = await io.client.exec({ ...helper, command: ['true'], retryUpgrade: false, timeoutMs: 30_000, signal });
        if (exitCode === 0) return;
        throw new HookError('COPY_FAILED', `Step pod ${helper.pod}: \`true\` exited with ${exitCode} in its ${IO_CONTAINER} container`);
      } catch (err) {
        if (signal.aborted || !notThereYet(err)) throw err;
      }
      await new Promise((r) => setTimeout(r, REACH_INTERVAL_MS));
    }
  })();
  try {
    await Promise.race([reached, failed]);
  } finally {
    done.abort();
    await Promise.allSettled([watched, reached]);
  }
}

/** Writes the ready marker the helper container's `postStart` hook waits for; the step starts then. */
async function releaseStepPod(io: WorkspaceIo, helper: PodTarget): Promise<void> {
  let problem: string;
  try {
    // Writing the marker twice is harmless.
    const { exitCode, stderr } = await onceMoreAfterConnectionFailure(async () => {
      const sink = new TextSink(2048);
      const r = await io.client.exec({
        ...helper,
        command: ['sh', '-c', `: > ${HELPER_WORK}/${READY_MARKER}`],
        stderr: sink,
        timeoutMs: 30_000,
        signal: io.signal,
      });
      return { exitCode: r.exitCode, stderr: sink.text.trim() };
    }, io.signal);
    if (exitCode === 0) return;
    problem = `the exec that writes its ready marker exited with ${exitCode}${stderr ? `: ${stderr}` : ''}`;
  } catch (err) {
    problem = `the exec that writes its ready marker failed: ${(err as Error).message}`;
  }
  throw new HookError('COPY_FAILED', `Could not start step pod ${helper.pod} after copying its inputs: ${problem}`);
}

/**
 * Copy mode: brings the step's results back: file commands to the runner (through the copy-back
 * guard of `copyFromPod`), and workspace and home to the job pod. The archive for the job pod
 * starts at once but reaches it only after the file commands were taken, so a refused archive
 * leaves the job pod as it was.
 */
export async function copyOutOfStepPod(io: WorkspaceIo, ws: WorkspaceState, step: StepPodRef, mounts: readonly StepMount[]): Promise<void> {
  const from: PodTarget = { namespace: step.namespace, pod: step.pod, container: IO_CONTAINER };
  const { local, fromJob } = splitSources(mounts.filter((m) => !m.readOnly));
  const fileCommands = copyFromPod(io.client, from, { dir: HELPER_WORK, allowed: local, root: ws.workDir, signal: io.signal });
  const toJob =
    step.jobContainer && fromJob.length
      ? copyBetweenPods(io.client, from, HELPER_WORK, fromJob, step.jobContainer, CONTAINER_WORK, io.signal, fileCommands)
      : fileCommands;
  const [taken, back] = await Promise.allSettled([fileCommands, toJob]);
  if (taken.status === 'rejected') throw taken.reason;
  if (back.status === 'rejected') throw back.reason;
}
