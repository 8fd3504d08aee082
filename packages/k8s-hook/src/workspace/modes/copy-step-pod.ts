import { HookError } from '../../errors.js';
import type { V1ContainerStateTerminated, V1Pod } from '@kubernetes/client-node';
import { R } from '@zfs-runner-hooks/kube';
import { onceMoreAfterConnectionFailure } from '../../kube/once-more.js';
import { copyBetweenPods, copyFromPod, copyToPod, TextSink, type PodTarget } from '../../kube/tar.js';
import { waitForPod } from '../../kube/wait-pod.js';
import { HELPER_WORK, INIT_CONTAINER, IO_CONTAINER, READY_MARKER } from '../../pod/step-pod.js';
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
 * Copy mode: fills the step pod's volume while its init container waits, then releases it. The
 * job pod's folders and the externals go in at the same time; the runner's file commands too,
 * unless a folder from the job pod holds them (then they follow it, so the fresh files win).
 */
export async function copyIntoStepPod(
  io: WorkspaceIo,
  ws: WorkspaceState,
  step: StepPodRef,
  mounts: readonly StepMount[],
  rv: string | undefined,
  mark: Mark,
): Promise<string | undefined> {
  const { namespace, pod } = step;
  const running = await waitForPod(io.client, {
    namespace,
    name: pod,
    goal: { kind: 'running', container: INIT_CONTAINER },
    resourceVersion: rv,
    timeoutSeconds: io.config.podTimeoutSeconds,
    unschedulableGraceSeconds: io.config.unschedulableGraceSeconds,
    log: io.log,
    signal: io.signal,
    what: 'Step pod',
  });
  mark('init running');
  const init: PodTarget = { namespace, pod, container: INIT_CONTAINER };
  const { local, fromJob, externals } = splitSources(mounts);
  const job = step.jobContainer;
  const jobFolders = job && fromJob.length ? fromJob : [];
  const fromJobCopy = job && jobFolders.length ? copyBetweenPods(io.client, job, CONTAINER_WORK, jobFolders, init, HELPER_WORK, io.signal) : Promise.resolve();
  const localAfterJob = local.some((l) => jobFolders.some((j) => j === '' || relativeInside(j, l) !== undefined));
  const ext = externals.map((r) => r.slice(EXTERNALS_REL.length + 1)).filter(Boolean);
  const copies = [
    fromJobCopy,
    (localAfterJob ? fromJobCopy : Promise.resolve()).then(() => copyToPod(io.client, init, ws.workDir, local, HELPER_WORK, io.signal)),
    copyToPod(io.client, init, ws.externalsDir, ext, `${HELPER_WORK}/${EXTERNALS_REL}`, io.signal),
  ];
  // Every copy is settled before the first failure is thrown: none is left writing into the pod.
  const failed = (await Promise.allSettled(copies)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  mark('copied in');
  await releaseStepPod(io, init);
  return running.metadata?.resourceVersion;
}

/** How often a failed release looks whether the init container ended all the same (500 ms apart). */
const RELEASE_CHECKS = 10;

/**
 * Writes the ready marker the init container waits for. The init container then ends, and may end
 * under the exec that wrote the marker before it reported its status: a release whose exec failed
 * or exited non-zero counts when the init container has ended with 0 all the same.
 */
async function releaseStepPod(io: WorkspaceIo, init: PodTarget): Promise<void> {
  let problem: string;
  try {
    // Writing the marker twice is harmless.
    const { exitCode, stderr } = await onceMoreAfterConnectionFailure(async () => {
      const sink = new TextSink(2048);
      const r = await io.client.exec({
        ...init,
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
  // The kubelet reports the init container's end a moment after it: a few seconds to see it.
  let ended: V1ContainerStateTerminated | undefined;
  for (let i = 0; i < RELEASE_CHECKS && !ended && !io.signal.aborted; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 500));
    const pod = await io.client.find<V1Pod>({ type: R.pods, namespace: init.namespace, name: init.pod }).catch(() => undefined);
    ended = pod?.status?.initContainerStatuses?.find((c) => c.name === INIT_CONTAINER)?.state?.terminated;
  }
  if (ended?.exitCode === 0) {
    io.log.debug(`Step pod ${init.pod} started although ${problem}`);
    return;
  }
  throw new HookError(
    'COPY_FAILED',
    `Could not start step pod ${init.pod} after copying its inputs: ${problem}${ended ? ` (its init container ended with ${ended.exitCode})` : ''}`,
  );
}

/**
 * Copy mode: brings the step's results back: file commands to the runner (through the copy-back
 * guard of `copyFromPod`), then workspace and home to the job pod, so a refused archive leaves the
 * job pod as it was.
 */
export async function copyOutOfStepPod(io: WorkspaceIo, ws: WorkspaceState, step: StepPodRef, mounts: readonly StepMount[]): Promise<void> {
  const from: PodTarget = { namespace: step.namespace, pod: step.pod, container: IO_CONTAINER };
  const { local, fromJob } = splitSources(mounts.filter((m) => !m.readOnly));
  await copyFromPod(io.client, from, { dir: HELPER_WORK, allowed: local, root: ws.workDir, signal: io.signal });
  if (step.jobContainer && fromJob.length) {
    await copyBetweenPods(io.client, from, HELPER_WORK, fromJob, step.jobContainer, CONTAINER_WORK, io.signal);
  }
}
