import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import type { Readable } from 'node:stream';
import type { PodTarget } from '../../kube/tar.js';
import type { Logger } from '../../log.js';
import type { ImageContainer } from '../../protocol/input.js';
import type { WorkspaceState } from '../../protocol/state.js';
import type { WorkspaceChoice } from '../mode.js';
import type { StepMount } from '../mounts.js';
import type { RunnerDirs } from '../paths.js';
import type { StepCopyPlan } from '../step-files.js';

/** What a workspace mode needs from the command it serves (a `CommandContext` fits). */
export interface WorkspaceIo {
  readonly client: KubeClient;
  readonly log: Logger;
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  readonly config: {
    readonly podTimeoutSeconds: number;
    readonly unschedulableGraceSeconds: number;
    /** ACTIONS_RUNNER_IMAGE: the image of a step pod's helper containers. */
    readonly helperImage: string | undefined;
    /** ACTIONS_RUNNER_USE_KUBE_SCHEDULER: pods are never pinned to the runner's node. */
    readonly useKubeScheduler: boolean;
  };
}

/** What prepare_job knows when it starts a job's workspace. */
export interface WorkspacePlanInput {
  readonly choice: WorkspaceChoice;
  readonly dirs: RunnerDirs;
  readonly namespace: string;
  readonly runnerPod: V1Pod;
}

/** What a script step's exec gets from the workspace before the step runs. */
export interface ScriptStepInput {
  /** An archive the exec unpacks into `untarDir` first. */
  readonly stdin?: Readable;
  /** Settles once the archive is fully written. */
  readonly sent?: Promise<void>;
  readonly untarDir?: string;
}

/** A container step's pod, and the job container its workspace folders come from. */
export interface StepPodRef {
  readonly namespace: string;
  readonly pod: string;
  /** The job pod's `job` container; undefined when the job has none. */
  readonly jobContainer: PodTarget | undefined;
}

/** Records when a phase of a step ended (logged at debug level). */
export type Mark = (what: string) => void;

/**
 * One job's workspace: how the runner's `_work` reaches the job pod and the step pods. Each mode
 * (`volume`, `copy`) implements it in its own file; the commands only call it. What pods mount
 * follows from the state (`jobPodWorkspace`/`stepPodWorkspace` in `mounts.ts`).
 */
export interface Workspace {
  /** The state this workspace was opened with. */
  readonly state: WorkspaceState;
  /** prepare_job, before the job pod is created: what the runner side needs in `_work`. */
  prepareRunnerSide(): Promise<void>;
  /** The job container as the job pod declares it. */
  jobContainer(container: ImageContainer): ImageContainer;
  /** prepare_job, once the job pod is ready: brings `_work` in; returns the state to record. */
  fillJobPod(target: PodTarget, workingDirectory: string | undefined): Promise<WorkspaceState>;
  /** Before a script step: the externals folders (`node20`, …) it needs that are not there yet. */
  sendExternals(target: PodTarget, names: readonly string[]): Promise<void>;
  /** The paths of `_work` sent with a script step (its files, new actions, its env file). */
  sentBeforeScriptStep(plan: StepCopyPlan, envRel: string): readonly string[];
  /** What the script step's exec gets: the archive of `sentBeforeScriptStep`, if any. */
  stepInput(plan: StepCopyPlan, envRel: string): Promise<ScriptStepInput>;
  /** After a script step: brings its file commands back to the runner. */
  collectScriptStep(target: PodTarget): Promise<void>;
  /** The image of a step pod's helper containers; undefined = none. Throws when one is needed and none is known. */
  containerStepHelperImage(jobImage: string | undefined): string | undefined;
  /** Once the step pod exists (created at `resourceVersion`): fills its volume. */
  fillStepPod(step: StepPodRef, mounts: readonly StepMount[], resourceVersion: string | undefined, mark: Mark): Promise<void>;
  /** After the container step: brings its results back to the runner and the job pod. */
  collectStepPod(step: StepPodRef, mounts: readonly StepMount[], mark: Mark): Promise<void>;
}

/** A workspace mode: how it starts a job's workspace, and how it opens one from the job state. */
export interface WorkspaceModeDefinition {
  /** prepare_job: the workspace state of a new job (this mode chosen). */
  plan(io: WorkspaceIo, input: WorkspacePlanInput): Promise<WorkspaceState>;
  /** Every command: the workspace of the job, from its state. */
  open(io: WorkspaceIo, state: WorkspaceState): Workspace;
}
