import { HookError } from '../../errors.js';
import { copyBetweenPods, copyFromPod, copyToPod, type PodTarget } from '../../kube/tar.js';
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
export async function copyIntoStepPod(io: WorkspaceIo, ws: WorkspaceState, step: StepPodRef, mounts: readonly StepMount[], rv: string | undefined, mark: Mark): Promise<string | undefined> {
  const { namespace, pod } = step;
  const running = await waitForPod(io.client, { namespace, name: pod, goal: { kind: 'running', container: INIT_CONTAINER }, resourceVersion: rv, timeoutSeconds: io.config.podTimeoutSeconds, unschedulableGraceSeconds: io.config.unschedulableGraceSeconds, log: io.log, signal: io.signal, what: 'Step pod' });
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
  const release = await io.client.exec({ ...init, command: ['sh', '-c', `: > ${HELPER_WORK}/${READY_MARKER}`], timeoutMs: 30_000 });
  if (release.exitCode !== 0) throw new HookError('COPY_FAILED', `Could not start step pod ${pod} after copying its inputs`);
  return running.metadata?.resourceVersion;
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
