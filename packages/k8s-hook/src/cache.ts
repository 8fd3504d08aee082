import type { V1EnvVar, V1Pod, V1PodSecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import type { Logger } from './log.js';

/** JSON the cache keeps in the job state (`state.clone`); nothing secret. */
export type CacheState = Record<string, unknown>;

/** What prepare_job tells the cache about the job. */
export interface CachePlanInput {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly runnerPod: { readonly name: string; readonly uid: string; readonly node: string | undefined };
  /** The node the workspace forces the job pod onto (volume mode with a single-node claim). */
  readonly requiredNode: string | undefined;
  /** The workflow's `container.env` (per-workflow settings such as `ZFS_CLONE_*`). */
  readonly containerEnv: Readonly<Record<string, string>>;
  /** The hook process environment (runner-level defaults and limits, `GITHUB_*` facts). */
  readonly processEnv: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

/** What the cache adds to the job pod. */
export interface CachePlan {
  readonly volumes: readonly V1Volume[];
  /** Mounts of the `job` container. */
  readonly volumeMounts: readonly V1VolumeMount[];
  /** Env of the `job` container. */
  readonly env: readonly V1EnvVar[];
  /** Merged into the pod's `securityContext` (e.g. `fsGroup` so non-root jobs can write the cache). */
  readonly podSecurityContext?: V1PodSecurityContext;
  /** Stored as `state.clone` and handed back to `cleanup`. */
  readonly state: CacheState;
  /** Called once the job pod exists (before it is ready); returns the state to store instead. */
  afterPodCreated(pod: V1Pod): Promise<CacheState>;
}

/** What cleanup_job knows about how the job went (the runner passes no job result). */
export interface JobOutcome {
  /** prepare_job completed (a job pod was created and became ready). */
  readonly prepared: boolean;
  readonly stepsRun: number;
  readonly stepsFailed: number;
}

/** What cleanup_job hands the cache. */
export interface CacheCleanupInput {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly runnerPodName: string;
  /** The job pod whose `job` container can run commands (e.g. `sync` before a snapshot), if any. */
  readonly jobPod: string | undefined;
  /**
   * The hook process environment: the runner-level limits and the job's `GITHUB_*` facts that
   * decide promotion and snapshot-back, read again here (never taken from `state`).
   */
  readonly processEnv: Readonly<Record<string, string | undefined>>;
  /**
   * `state.clone`, or undefined when prepare_job failed before recording it. It came back through
   * the runner from a file the job may have touched: the cache treats it as the job's wishes and
   * checks it against the clone it names.
   */
  readonly state: CacheState | undefined;
  readonly job: JobOutcome;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

/**
 * The build-cache collaborator of prepare_job and cleanup_job (implemented by
 * `@zfs-runner-hooks/zfs-clone`). The hook never interprets cache settings itself.
 */
export interface JobCache {
  /**
   * Checks the job's cache settings without talking to the API server; throws what `plan` would
   * throw for them, so prepare_job reports every input problem before its first request.
   */
  check(input: Pick<CachePlanInput, 'namespace' | 'containerEnv' | 'processEnv'>): Promise<void>;
  /** Decides whether and how this job gets a cache; undefined = no cache for this job. */
  plan(input: CachePlanInput): Promise<CachePlan | undefined>;
  /** Snapshots/promotes/releases as the cache decides; must tolerate missing state and objects. */
  cleanup(input: CacheCleanupInput): Promise<void>;
}
