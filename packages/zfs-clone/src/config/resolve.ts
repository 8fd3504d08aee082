import { check as c, formatDuration } from '@zfs-runner-hooks/vocabulary';
import { ZfsCloneError } from '../errors.js';
import { matchesAny } from './glob.js';
import { formatIssues } from './issues.js';
import { jobFactsFrom, type JobFacts, type RightsLimits } from './rights.js';
import { runnerSettingsSchema, type RunnerSettings } from './runner-settings.js';
import { formatSource, type CloneSource } from './source.js';
import { workflowSettingsSchema, type SnapshotBackPolicy } from './workflow-settings.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Everything a job's clone needs, after defaults and limits. */
export interface CloneConfig {
  readonly source: CloneSource;
  readonly mountPath: string;
  readonly envVar: string;
  /** Unset: the class of the snapshot's source PVC. */
  readonly storageClass: string | undefined;
  /** Unset: the class of the source snapshot. */
  readonly snapshotClass: string | undefined;
  /** What the workflow asked for; the job's rights (`decideRights`) apply once the source's head is read. */
  readonly snapshotBack: SnapshotBackPolicy;
  /** The workflow set `ZFS_CLONE_SNAPSHOT_BACK` itself. */
  readonly snapshotBackSet: boolean;
  /** The workflow asks to promote (only for a cache source); the job's rights decide whether it may. */
  readonly promote: boolean;
  /** The runner's promote and snapshot-back limits. */
  readonly limits: RightsLimits;
  /** Most unpromoted snapshots kept per cache. */
  readonly maxKeptSnapshots: number;
  /** Seconds to keep a failed job's clone; 0 = release it. */
  readonly keepOnFailureSeconds: number;
  readonly onConflict: 'drop' | 'keep';
  /** Seconds to keep unpromoted snapshots and lost races' snapshots. */
  readonly keepTtlSeconds: number;
  readonly maxKeptClones: number;
  readonly keepGenerations: number;
  readonly gcOnCleanup: boolean;
  readonly fsGroup: number | undefined;
  readonly timeoutSeconds: number;
  /** Who is asking (from the hook's environment). */
  readonly job: JobFacts;
}

export type ResolveResult =
  | { readonly ok: true; readonly config: CloneConfig | null; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[]; readonly message: string };

export interface ResolveContext {
  /** The namespace the job runs in, checked against `ZFS_CLONE_NAMESPACES`. */
  readonly namespace?: string;
}

const PREFIX = 'ZFS_CLONE_';

/** Only `ZFS_CLONE_*` variables with a non-empty value; an empty value means "unset". */
function pick(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith(PREFIX) && value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

/**
 * Resolves a job's clone configuration from the runner pod's environment (defaults, limits and the
 * trusted `GITHUB_*` facts) and the workflow's `container.env`. Returns every problem at once, or
 * `config: null` when no source is set (the feature is off for this job).
 */
export function resolveCloneConfig(runnerEnv: Env, containerEnv: Env, context: ResolveContext = {}): ResolveResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  const workflowKeys = Object.keys(workflowSettingsSchema.shape);
  const runner = readRunnerSettings(runnerEnv);
  if (!runner.ok) problems.push(...runner.problems);
  const workflowPicked = pick(containerEnv);
  const workflow = c.parse(workflowSettingsSchema, workflowPicked);
  problems.push(...formatIssues('container.env', workflow.ok ? [] : workflow.issues, Object.keys(workflowPicked), workflowKeys));
  if (!runner.ok || !workflow.ok || problems.length > 0) return fail(problems);

  const job = jobFactsFrom(runnerEnv);
  const r = runner.settings;
  const w = workflow.value;
  const chosen = w.ZFS_CLONE_SOURCE ?? r.ZFS_CLONE_DEFAULT_SOURCE;
  if (chosen === undefined || chosen === 'none') return { ok: true, config: null, warnings };

  if (context.namespace !== undefined && !matchesAny(context.namespace, r.ZFS_CLONE_NAMESPACES)) {
    problems.push(
      `namespace "${context.namespace}" is not in the runner's ZFS_CLONE_NAMESPACES (${r.ZFS_CLONE_NAMESPACES.join(',')}); run the job in an allowed namespace or remove ZFS_CLONE_SOURCE.`,
    );
  }
  const sourceText = formatSource(chosen);
  if (!matchesAny(sourceText, r.ZFS_CLONE_ALLOWED_SOURCES)) {
    problems.push(
      `container.env.ZFS_CLONE_SOURCE: "${sourceText}" is not allowed by the runner's ZFS_CLONE_ALLOWED_SOURCES (${r.ZFS_CLONE_ALLOWED_SOURCES.join(',')}); choose an allowed source or ask the runner's administrator.`,
    );
  }

  const promote = w.ZFS_CLONE_PROMOTE;
  if (promote && chosen.kind !== 'cache') {
    problems.push(
      `container.env.ZFS_CLONE_PROMOTE: only a cache can be promoted into, but the source is "${sourceText}"; use a cache source or set ZFS_CLONE_PROMOTE=false.`,
    );
  }
  if (promote && w.ZFS_CLONE_SNAPSHOT_BACK === 'never') {
    problems.push('container.env.ZFS_CLONE_PROMOTE: promoting needs a snapshot, but ZFS_CLONE_SNAPSHOT_BACK=never; set it to on-success or always.');
  }

  const maxKeep = r.ZFS_CLONE_MAX_KEEP_TTL;
  const keepWanted = w.ZFS_CLONE_KEEP_ON_FAILURE === 'default' ? r.ZFS_CLONE_KEEP_TTL : w.ZFS_CLONE_KEEP_ON_FAILURE;
  if (keepWanted > maxKeep) {
    problems.push(
      `container.env.ZFS_CLONE_KEEP_ON_FAILURE: ${formatDuration(keepWanted)} is longer than the runner's ZFS_CLONE_MAX_KEEP_TTL (${formatDuration(maxKeep)}); ask for ${formatDuration(maxKeep)} or less.`,
    );
  }
  if (problems.length > 0) return fail(problems);

  const snapshotBack = w.ZFS_CLONE_SNAPSHOT_BACK ?? (w.ZFS_CLONE_PROMOTE ? 'on-success' : 'never');
  return {
    ok: true,
    warnings,
    config: {
      source: chosen,
      mountPath: w.ZFS_CLONE_MOUNT_PATH,
      envVar: w.ZFS_CLONE_ENV_VAR,
      storageClass: w.ZFS_CLONE_STORAGE_CLASS ?? r.ZFS_CLONE_DEFAULT_STORAGE_CLASS,
      snapshotClass: w.ZFS_CLONE_SNAPSHOT_CLASS ?? r.ZFS_CLONE_DEFAULT_SNAPSHOT_CLASS,
      snapshotBack,
      snapshotBackSet: w.ZFS_CLONE_SNAPSHOT_BACK !== undefined,
      promote,
      limits: rightsLimits(r),
      maxKeptSnapshots: r.ZFS_CLONE_MAX_KEPT_SNAPSHOTS,
      keepOnFailureSeconds: r.ZFS_CLONE_MAX_KEPT_CLONES === 0 ? 0 : keepWanted,
      onConflict: w.ZFS_CLONE_ON_CONFLICT,
      keepTtlSeconds: keepTtlSeconds(r),
      maxKeptClones: r.ZFS_CLONE_MAX_KEPT_CLONES,
      keepGenerations: Math.max(1, r.ZFS_CLONE_KEEP_GENERATIONS),
      gcOnCleanup: r.ZFS_CLONE_GC_ON_CLEANUP,
      fsGroup: r.ZFS_CLONE_FS_GROUP,
      timeoutSeconds: r.ZFS_CLONE_TIMEOUT_SECONDS,
      job,
    },
  };
}

/** The least time a kept object lives, counted from the end of cleanup_job: gc's grace period. */
export const MIN_KEEP_SECONDS = 600;

/** How long unpromoted snapshots are kept: the runner's keep time, within its maximum, never under {@link MIN_KEEP_SECONDS}. */
export function keepTtlSeconds(r: RunnerSettings): number {
  return Math.max(MIN_KEEP_SECONDS, Math.min(r.ZFS_CLONE_KEEP_TTL, r.ZFS_CLONE_MAX_KEEP_TTL));
}

/** The runner settings that decide promotion and snapshot-back. */
export function rightsLimits(r: RunnerSettings): RightsLimits {
  return {
    ZFS_CLONE_PROMOTE_EVENTS: r.ZFS_CLONE_PROMOTE_EVENTS,
    ZFS_CLONE_PROMOTE_REFS: r.ZFS_CLONE_PROMOTE_REFS,
    ZFS_CLONE_PROMOTE_REPOSITORIES: r.ZFS_CLONE_PROMOTE_REPOSITORIES,
    ZFS_CLONE_CACHE_REPOSITORIES: r.ZFS_CLONE_CACHE_REPOSITORIES,
    ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB: r.ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB,
  };
}

/**
 * The runner's settings alone (cleanup_job re-reads them from the hook's own environment), or
 * every problem with them.
 */
export function readRunnerSettings(runnerEnv: Env): { ok: true; settings: RunnerSettings } | { ok: false; problems: string[] } {
  const runnerKeys = Object.keys(runnerSettingsSchema.shape);
  const picked = pick(runnerEnv);
  // The runner pod's env may legitimately carry workflow-style names; only runner names are read there.
  for (const key of Object.keys(workflowSettingsSchema.shape)) delete picked[key];
  const runner = c.parse(runnerSettingsSchema, picked);
  const problems = formatIssues('runner env', runner.ok ? [] : runner.issues, Object.keys(picked), runnerKeys);
  return runner.ok && problems.length === 0 ? { ok: true, settings: runner.value } : { ok: false, problems };
}

function fail(problems: readonly string[]): ResolveResult {
  const message = `Invalid ZFS clone configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems
    .map((p) => `  - ${p}`)
    .join('\n')}`;
  return { ok: false, problems, message };
}

/** Like {@link resolveCloneConfig} but throws a `ZfsCloneError` (`CONFIG_INVALID`) listing every problem. */
export function resolveCloneConfigOrThrow(
  runnerEnv: Env,
  containerEnv: Env,
  context: ResolveContext = {},
): { config: CloneConfig | null; warnings: readonly string[] } {
  const result = resolveCloneConfig(runnerEnv, containerEnv, context);
  if (!result.ok) throw new ZfsCloneError('CONFIG_INVALID', result.message);
  return { config: result.config, warnings: result.warnings };
}
