import { booleanField, check as c, defaultedSetting, durationField, optionalSetting, wholeNumberField } from '@zfs-runner-hooks/vocabulary';
import { bindingListField, globListField, objectNameField, sourceField } from './fields.js';
import { SOURCE_SYNTAX } from './source.js';

/**
 * Runner-level settings, read from the runner pod's environment: defaults for every workflow and
 * limits a workflow cannot override.
 */
export const runnerSettingsSchema = c.object({
  ZFS_CLONE_DEFAULT_SOURCE: optionalSetting(sourceField, {
    description: `Source for workflows that set no \`ZFS_CLONE_SOURCE\` (${SOURCE_SYNTAX}). Unset: no clone unless the workflow asks.`,
    syntax: 'source',
  }),
  ZFS_CLONE_ALLOWED_SOURCES: defaultedSetting(globListField, 'cache:*', {
    description:
      'Sources workflows may clone, as globs over `cache:<name>` and `snapshot:<name>`. The default allows every cache of the namespace but no loose snapshots (which may be kept clones of other jobs).',
    syntax: 'glob list',
  }),
  ZFS_CLONE_NAMESPACES: defaultedSetting(globListField, '*', {
    description: 'Namespaces in which the hook may create clones.',
    syntax: 'glob list',
  }),
  ZFS_CLONE_DEFAULT_STORAGE_CLASS: optionalSetting(objectNameField, {
    description: "StorageClass of clone PVCs when the workflow sets none. Unset: the class of the snapshot's source PVC.",
    syntax: 'name',
  }),
  ZFS_CLONE_DEFAULT_SNAPSHOT_CLASS: optionalSetting(objectNameField, {
    description: 'VolumeSnapshotClass when the workflow sets none. Unset: the class of the source snapshot.',
    syntax: 'name',
  }),
  ZFS_CLONE_PROMOTE_EVENTS: defaultedSetting(globListField, 'push,schedule,workflow_dispatch', {
    description:
      'Events (`GITHUB_EVENT_NAME`) whose jobs may promote. `pull_request` and `pull_request_target` run code from forks: add them only if you trust every pull request.',
    syntax: 'glob list',
  }),
  ZFS_CLONE_PROMOTE_REFS: defaultedSetting(globListField, 'refs/heads/main', {
    description: 'Refs (`GITHUB_REF`) whose jobs may promote, e.g. `refs/heads/main,refs/heads/release/*`.',
    syntax: 'glob list',
  }),
  ZFS_CLONE_PROMOTE_REPOSITORIES: defaultedSetting(globListField, '*', {
    description:
      'Repositories (`GITHUB_REPOSITORY`, `owner/name`) whose jobs may promote at all. Which cache each may promote is bound by `ZFS_CLONE_CACHE_REPOSITORIES` or by the cache itself.',
    syntax: 'glob list',
  }),
  ZFS_CLONE_CACHE_REPOSITORIES: optionalSetting(bindingListField, {
    description:
      'Which repositories may promote which caches: `<cache glob>=<repository glob>` entries, e.g. `gcc12-*=your-org/compiler,clang17=your-org/*` (repeat a cache glob to bind it to more repositories). A cache named here may only be promoted by the repositories bound to it. A cache named nowhere may only be promoted by the repositories its head records (`zfs-clone seed --repository`); a cache bound by neither is never promoted by a job (a warning says how to bind it). When both bind a cache, both must admit the repository.',
    syntax: 'binding list',
  }),
  ZFS_CLONE_SNAPSHOT_BACK_ANY_JOB: defaultedSetting(booleanField, 'false', {
    description:
      "Let jobs that may not promote into their source (pull requests, other refs, repositories not bound to the cache, `snapshot:` sources) take a snapshot back (`ZFS_CLONE_SNAPSHOT_BACK`). Off: such a job's clone is released and its `ZFS_CLONE_SNAPSHOT_BACK` ignored with a warning.",
    syntax: 'true|false',
  }),
  ZFS_CLONE_MAX_KEPT_SNAPSHOTS: defaultedSetting(wholeNumberField(), '3', {
    description:
      'Most snapshots taken back and not promoted (kept for the keep time) per cache at once; beyond it a job takes no snapshot, or drops the snapshot of a lost promotion race, with a warning. Snapshots of other jobs still being promoted do not count. `0` keeps none. Snapshots of `snapshot:` sources count as one group.',
    syntax: 'number',
  }),
  ZFS_CLONE_KEEP_TTL: defaultedSetting(durationField, '24h', {
    description:
      "How long kept objects live when no duration is given: failed clones (`ZFS_CLONE_KEEP_ON_FAILURE=true`), unpromoted snapshots. Counted from the end of cleanup_job, and never less than 10 minutes (the grace in which another job's gc leaves them alone).",
    syntax: 'duration',
  }),
  ZFS_CLONE_MAX_KEEP_TTL: defaultedSetting(durationField, '7d', {
    description: 'Longest keep time a workflow may ask for.',
    syntax: 'duration',
  }),
  ZFS_CLONE_MAX_KEPT_CLONES: defaultedSetting(wholeNumberField(), '3', {
    description: 'Most failed-job clones kept at once in the namespace; beyond it a failed clone is released (with a warning). `0` turns keeping off.',
    syntax: 'number',
  }),
  ZFS_CLONE_KEEP_GENERATIONS: defaultedSetting(wholeNumberField(), '5', {
    description: 'Generations per cache that gc keeps (the head included), besides anything a live clone depends on.',
    syntax: 'number',
  }),
  ZFS_CLONE_GC_ON_CLEANUP: defaultedSetting(booleanField, 'true', {
    description: "Run the cache's gc at the end of cleanup_job after a promotion or a kept clone.",
    syntax: 'true|false',
  }),
  ZFS_CLONE_FS_GROUP: optionalSetting(wholeNumberField(), {
    description: 'Group id given to the job pod as `fsGroup` (with `fsGroupChangePolicy: OnRootMismatch`) so a non-root job user can write the clone.',
    syntax: 'number',
  }),
  ZFS_CLONE_TIMEOUT_SECONDS: defaultedSetting(wholeNumberField('seconds'), '300', {
    description:
      'Longest wait for a clone to provision or a snapshot to become ready, and deadline of each command cleanup_job runs in the job container before a snapshot (stopping its processes, `sync`).',
    syntax: 'seconds',
  }),
});

/** The runner settings after parsing and defaults. */
export type RunnerSettings = c.Output<typeof runnerSettingsSchema>;
