import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { matchesAny } from '../config/glob.js';
import { keepTtlSeconds, readRunnerSettings, rightsLimits } from '../config/resolve.js';
import { decideRights, jobFactsFrom, promoteDenial, type JobFacts, type RightsLimits } from '../config/rights.js';
import { formatSource } from '../config/source.js';
import type { SnapshotBackPolicy } from '../config/workflow-settings.js';
import { MANAGED_BY, MANAGED_BY_LABEL, ROLE_LABEL, RUNNER_POD_LABEL } from '@zfs-runner-hooks/vocabulary';
import { CACHE, PARENT_GENERATION } from '../labels.js';
import type { CloneState } from './state.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * What cleanup_job does with a job's clone. The state only says what the job asked for (it comes
 * back through the runner, from a file the job may have touched): the limits come from the hook's
 * own environment, read again here, and the rights are decided again from them.
 */
export interface CleanupPolicy {
  readonly promote: boolean;
  readonly snapshotBack: SnapshotBackPolicy;
  readonly snapshotClass: string | undefined;
  readonly keepOnFailureSeconds: number;
  readonly onConflict: 'drop' | 'keep';
  /** Seconds unpromoted snapshots are kept, from the end of cleanup. */
  readonly keepTtlSeconds: number;
  readonly maxKeptClones: number;
  readonly maxKeptSnapshots: number;
  readonly keepGenerations: number;
  readonly gcOnCleanup: boolean;
  readonly timeoutSeconds: number;
  /** Who promotes, for the head's history. */
  readonly by: string | undefined;
  readonly job: JobFacts;
  readonly limits: RightsLimits;
}

export type CleanupDecision =
  | { readonly ok: true; readonly policy: CleanupPolicy; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Decides cleanup from the state's wishes, the hook's environment (runner settings and `GITHUB_*`)
 * and the repositories the cache head records (`undefined`: none recorded). Pure.
 */
export function decideCleanup(state: CloneState, runnerEnv: Env, runnerPod: string, recorded: readonly string[] | undefined): CleanupDecision {
  const read = readRunnerSettings(runnerEnv);
  if (!read.ok) return { ok: false, problems: read.problems.map((p) => `${p} (nothing is snapshotted or promoted)`) };
  const r = read.settings;
  const job = jobFactsFrom(runnerEnv);
  const limits = rightsLimits(r);
  const warnings: string[] = [];
  const wanted = { promote: state.policy.promote, snapshotBack: state.policy.snapshotBack, snapshotBackSet: true };
  let rights = decideRights(wanted, job, limits, state.source, recorded);
  const sourceText = formatSource(state.source);
  if (!matchesAny(sourceText, r.ZFS_CLONE_ALLOWED_SOURCES) && (rights.promote || rights.snapshotBack !== 'never')) {
    warnings.push(`"${sourceText}" is not in the runner's ZFS_CLONE_ALLOWED_SOURCES (${r.ZFS_CLONE_ALLOWED_SOURCES.join(',')}); no snapshot is taken.`);
    rights = { ...rights, promote: false, snapshotBack: 'never' };
  }
  warnings.push(...rights.warnings);
  const maxKeep = r.ZFS_CLONE_MAX_KEEP_TTL;
  return {
    ok: true,
    warnings,
    policy: {
      promote: rights.promote,
      snapshotBack: rights.snapshotBack,
      snapshotClass: state.policy.snapshotClass,
      keepOnFailureSeconds: r.ZFS_CLONE_MAX_KEPT_CLONES === 0 ? 0 : Math.min(state.policy.keepOnFailureSeconds, maxKeep),
      onConflict: state.policy.onConflict,
      keepTtlSeconds: keepTtlSeconds(r),
      maxKeptClones: r.ZFS_CLONE_MAX_KEPT_CLONES,
      maxKeptSnapshots: r.ZFS_CLONE_MAX_KEPT_SNAPSHOTS,
      keepGenerations: Math.max(1, r.ZFS_CLONE_KEEP_GENERATIONS),
      gcOnCleanup: r.ZFS_CLONE_GC_ON_CLEANUP,
      timeoutSeconds: r.ZFS_CLONE_TIMEOUT_SECONDS,
      by: job.repository === undefined ? undefined : `${job.repository}@${job.ref ?? '?'} (${job.eventName ?? '?'}) via ${runnerPod}`,
      job,
      limits,
    },
  };
}

/** The last check of a head right before the swap: whether this job may still promote it. */
export function admitPromotion(policy: CleanupPolicy, cache: string): (head: { readonly repositories?: readonly string[] | undefined }) => string | undefined {
  return (head) => promoteDenial(policy.job, policy.limits, cache, head.repositories);
}

/**
 * Why the clone PVC is not the one the state describes, or `undefined` when it is: a clone this
 * runner pod made (the hook's labels), of the snapshot and cache generation the state names.
 * A state that names another PVC (a seed, another job's clone) is never acted on.
 */
export function cloneMismatch(pvc: V1PersistentVolumeClaim, state: CloneState, namespace: string, runnerPod: string): string | undefined {
  const labels = pvc.metadata?.labels ?? {};
  if (state.namespace !== namespace) return `the state is for namespace "${state.namespace}", this runner runs in "${namespace}"`;
  if (state.runnerPod !== runnerPod) return `the state is for runner pod "${state.runnerPod}", this is "${runnerPod}"`;
  if (labels[MANAGED_BY_LABEL] !== MANAGED_BY || labels[ROLE_LABEL] !== 'clone') return `PVC "${state.pvc}" is not a clone made by the hook`;
  if (labels[RUNNER_POD_LABEL] !== runnerPod) return `PVC "${state.pvc}" belongs to runner pod "${labels[RUNNER_POD_LABEL] ?? '?'}", not "${runnerPod}"`;
  const origin = pvc.spec?.dataSource?.kind === 'VolumeSnapshot' ? pvc.spec.dataSource.name : undefined;
  if (origin !== state.snapshot) return `PVC "${state.pvc}" is a clone of "${origin ?? 'nothing'}", the state says "${state.snapshot}"`;
  if (state.source.kind === 'cache' && state.cache?.name !== state.source.name)
    return `the state's cache "${state.cache?.name ?? '?'}" is not its source "${state.source.name}"`;
  if (labels[CACHE] !== state.cache?.name)
    return `PVC "${state.pvc}" belongs to cache "${labels[CACHE] ?? 'none'}", the state says "${state.cache?.name ?? 'none'}"`;
  if (state.cache && labels[PARENT_GENERATION] !== String(state.cache.generation)) {
    return `PVC "${state.pvc}" is a clone of generation ${labels[PARENT_GENERATION] ?? '?'}, the state says ${state.cache.generation}`;
  }
  return undefined;
}
