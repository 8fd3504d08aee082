import type { CacheBinding } from './fields.js';
import { matchesAny } from './glob.js';
import type { RunnerSettings } from './runner-settings.js';
import type { CloneSource } from './source.js';
import type { SnapshotBackPolicy } from './workflow-settings.js';
import { REPOSITORIES } from '../labels.js';
import { headConfigMapName } from '../names.js';

/**
 * What a job may do with its clone at cleanup: promote into its cache, or take a snapshot back.
 * Decided from the runner's limits and the job's `GITHUB_*` facts (both from the hook's own
 * environment) and from the repositories the cache head records — never from anything the job
 * controls. prepare_job decides once (warning about what it drops) and cleanup_job decides again.
 */

type Env = Readonly<Record<string, string | undefined>>;

/** Who is asking, from the hook's own environment (the runner sets it; a workflow cannot). */
export interface JobFacts {
  readonly ref?: string | undefined;
  readonly eventName?: string | undefined;
  readonly repository?: string | undefined;
}

/** The job's facts from the hook's process environment; empty values count as unknown. */
export function jobFactsFrom(env: Env): JobFacts {
  const value = (key: string) => (env[key] === undefined || env[key] === '' ? undefined : env[key]);
  return { ref: value('GITHUB_REF'), eventName: value('GITHUB_EVENT_NAME'), repository: value('GITHUB_REPOSITORY') };
}

/** The runner's settings that decide promotion and snapshot-back. */
export type RightsLimits = Pick<
  RunnerSettings,
  'ZFS_CLONE_PROMOTE_EVENTS' | 'ZFS_CLONE_PROMOTE_REFS' | 'ZFS_CLONE_PROMOTE_REPOSITORIES' | 'ZFS_CLONE_CACHE_REPOSITORIES' | 'ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB'
>;

/** The repository globs the runner binds `cache` to (empty: the runner does not name it). */
export function boundRepositories(bindings: readonly CacheBinding[] | undefined, cache: string): string[] {
  return (bindings ?? []).filter((b) => matchesAny(cache, [b.cache])).map((b) => b.repository);
}

/**
 * Why `job` may not promote into `cache`, or `undefined` when it may. `recorded`: the repository
 * globs the cache's head records (`zrh.dev/repositories`), `undefined` when it records none.
 * Every binding that exists must admit the repository, and at least one must exist.
 */
export function promoteDenial(job: JobFacts, limits: RightsLimits, cache: string, recorded: readonly string[] | undefined): string | undefined {
  const checks = [
    ['event', job.eventName, 'ZFS_CLONE_PROMOTE_EVENTS', limits.ZFS_CLONE_PROMOTE_EVENTS],
    ['ref', job.ref, 'ZFS_CLONE_PROMOTE_REFS', limits.ZFS_CLONE_PROMOTE_REFS],
    ['repository', job.repository, 'ZFS_CLONE_PROMOTE_REPOSITORIES', limits.ZFS_CLONE_PROMOTE_REPOSITORIES],
  ] as const;
  for (const [what, value, name, patterns] of checks) {
    if (value === undefined) return `the job's ${what} is unknown (GITHUB_* not set in the hook's environment)`;
    if (!matchesAny(value, patterns)) return `${what} "${value}" is not in the runner's ${name} (${patterns.join(',')})`;
  }
  const repository = job.repository as string;
  const mapped = boundRepositories(limits.ZFS_CLONE_CACHE_REPOSITORIES, cache);
  if (mapped.length === 0 && recorded === undefined) {
    return (
      `cache "${cache}" is bound to no repository (the runner's ZFS_CLONE_CACHE_REPOSITORIES does not name it and its head records no ${REPOSITORIES}); ` +
      `to let ${repository} promote it, add ${cache}=${repository} to the runner's ZFS_CLONE_CACHE_REPOSITORIES ` +
      `or record it on the cache (zfs-clone seed ${cache} --repository ${repository}, or kubectl annotate configmap ${headConfigMapName(cache)} ${REPOSITORIES}=${repository})`
    );
  }
  if (mapped.length > 0 && !matchesAny(repository, mapped)) {
    return `repository "${repository}" may not promote cache "${cache}": the runner's ZFS_CLONE_CACHE_REPOSITORIES binds it to ${mapped.join(',')}`;
  }
  if (recorded !== undefined && !matchesAny(repository, recorded)) {
    return `repository "${repository}" may not promote cache "${cache}": its head (ConfigMap ${headConfigMapName(cache)}) records ${REPOSITORIES}=${recorded.join(',')}`;
  }
  return undefined;
}

/** What the job asked for (prepare_job: the workflow's settings; cleanup_job: the state's). */
export interface WantedPolicy {
  readonly promote: boolean;
  readonly snapshotBack: SnapshotBackPolicy;
  /** The workflow set `ZFS_CLONE_SNAPSHOT_BACK` itself (not implied by `ZFS_CLONE_PROMOTE`). */
  readonly snapshotBackSet: boolean;
}

/** What the job may do, and the warnings for what it asked for and may not. */
export interface Rights {
  readonly promote: boolean;
  readonly snapshotBack: SnapshotBackPolicy;
  /** Why the job may not promote into its source, if it may not. */
  readonly denial: string | undefined;
  readonly warnings: readonly string[];
}

/**
 * Applies the limits to what a job asked for: a job that may not promote into its source does not
 * promote, and takes no snapshot back unless the runner sets `ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB`.
 */
export function decideRights(wanted: WantedPolicy, job: JobFacts, limits: RightsLimits, source: CloneSource, recorded: readonly string[] | undefined): Rights {
  const denial = source.kind === 'cache' ? promoteDenial(job, limits, source.name, recorded) : `"snapshot:${source.name}" is not a cache`;
  const warnings: string[] = [];
  if (!denial) return { promote: wanted.promote, snapshotBack: wanted.snapshotBack, denial, warnings };

  if (wanted.promote) warnings.push(`ZFS_CLONE_PROMOTE=true is ignored: ${denial}; the clone is used without promotion.`);
  let snapshotBack = wanted.snapshotBack;
  // A snapshot the workflow only implied by asking to promote goes with the promotion.
  if (wanted.promote && !wanted.snapshotBackSet) snapshotBack = 'never';
  if (snapshotBack !== 'never' && !limits.ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB) {
    warnings.push(
      `ZFS_CLONE_SNAPSHOT_BACK=${snapshotBack} is ignored: this job may not promote into its source${wanted.promote ? '' : ` (${denial})`} ` +
        "and the runner's ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB is false; no snapshot is taken.",
    );
    snapshotBack = 'never';
  }
  return { promote: false, snapshotBack, denial, warnings };
}
