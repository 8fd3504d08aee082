import { booleanField, check as c, choiceField, defaultedSetting, optionalSetting } from '@zfs-runner-hooks/vocabulary';
import { absolutePathField, identifierField, keepField, objectNameField, sourceField } from './fields.js';
import { SOURCE_SYNTAX } from './source.js';

/** Snapshot-back policies: when cleanup_job takes a snapshot of the job's clone. */
export const SNAPSHOT_BACK_POLICIES = ['never', 'always', 'on-success'] as const;
export type SnapshotBackPolicy = (typeof SNAPSHOT_BACK_POLICIES)[number];

/**
 * Per-workflow settings, read from the job's `container.env` (the only channel a workflow has to
 * the hook). Unset or empty variables take the defaults; the runner's limits apply afterwards.
 */
export const workflowSettingsSchema = c.object({
  ZFS_CLONE_SOURCE: optionalSetting(sourceField, {
    description: `What to clone: ${SOURCE_SYNTAX}, or \`none\` to turn the runner's default source off. Unset: the runner's \`ZFS_CLONE_DEFAULT_SOURCE\`; no source means no clone.`,
    syntax: 'source',
  }),
  ZFS_CLONE_MOUNT_PATH: defaultedSetting(absolutePathField, '/CONAN_HOME', {
    description: 'Where the clone is mounted in the job container.',
    syntax: 'absolute path',
  }),
  ZFS_CLONE_ENV_VAR: defaultedSetting(identifierField, 'CONAN_HOME', {
    description: 'Environment variable set to the mount path in the job container.',
    syntax: 'variable name',
  }),
  ZFS_CLONE_STORAGE_CLASS: optionalSetting(objectNameField, {
    description: "StorageClass of the clone PVC. Unset: the runner's `ZFS_CLONE_DEFAULT_STORAGE_CLASS`, else the class of the snapshot's source PVC.",
    syntax: 'name',
  }),
  ZFS_CLONE_SNAPSHOT_CLASS: optionalSetting(objectNameField, {
    description: "VolumeSnapshotClass for snapshots taken back. Unset: the runner's `ZFS_CLONE_DEFAULT_SNAPSHOT_CLASS`, else the class of the source snapshot.",
    syntax: 'name',
  }),
  ZFS_CLONE_SNAPSHOT_BACK: optionalSetting(choiceField(SNAPSHOT_BACK_POLICIES), {
    description:
      'When cleanup_job snapshots the clone: `never`, `always`, or `on-success` (every step succeeded). Unset: `on-success` when promoting, else `never`. A snapshot that is not promoted is kept for the keep time, then collected.',
    syntax: 'never|always|on-success',
  }),
  ZFS_CLONE_PROMOTE: defaultedSetting(booleanField, 'false', {
    description:
      "Make the snapshot taken back the cache's new head if the head has not moved since this job cloned it (fast-forward only). Only for cache sources, and only where the runner's promote limits allow it; elsewhere it is ignored with a warning.",
    syntax: 'true|false',
  }),
  ZFS_CLONE_KEEP_ON_FAILURE: defaultedSetting(keepField, 'false', {
    description:
      "Keep a failed job's clone for inspection: `false`, `true` (the runner's `ZFS_CLONE_KEEP_TTL`) or a duration (`24h`). Kept clones are labelled with their expiry and removed by gc afterwards.",
    syntax: 'false|true|duration',
  }),
  ZFS_CLONE_ON_CONFLICT: defaultedSetting(choiceField(['drop', 'keep'] as const), 'drop', {
    description:
      'What happens to the snapshot of a job that lost the promotion race (another job promoted first): `drop` it, or `keep` it for the keep time (it can then be promoted by hand).',
    syntax: 'drop|keep',
  }),
});

/** The workflow settings after parsing and defaults. */
export type WorkflowSettings = c.Output<typeof workflowSettingsSchema>;
