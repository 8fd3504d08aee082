import { check as c, type Output } from '@zfs-runner-hooks/vocabulary';
import { HookError } from '../errors.js';

/** How the runner's `_work` reaches the job pod. See docs/decisions/0003-workspace-modes.md. */
export const WORKSPACE_MODES = ['volume', 'copy'] as const;
export type WorkspaceMode = (typeof WORKSPACE_MODES)[number];

const workspaceStateSchema = c.object({
  mode: c.oneOf(WORKSPACE_MODES),
  /** The runner's `_work` directory on the runner pod, e.g. `/home/runner/_work`. */
  workDir: c.string(),
  /** The runner's externals directory on the runner pod. */
  externalsDir: c.string(),
  /** volume mode: the work claim and the directory of `_work` inside it. */
  claimName: c.optional(c.string()),
  claimSubPath: c.optional(c.string()),
  /** volume mode with a single-node claim: the node every pod of the job must run on. */
  pinnedNode: c.optional(c.string()),
  /** copy mode: what is already in the job pod (`_actions/<owner>/<repo>/<ref>`, `node20`, …). */
  copiedActions: c.optional(c.array(c.string()), []),
  copiedExternals: c.optional(c.array(c.string()), []),
});
export type WorkspaceState = Output<typeof workspaceStateSchema>;

/**
 * What one job carries between hook calls (version 1). Everything cleanup needs, nothing secret.
 */
export const jobStateSchema = c.object({
  version: c.literal(1),
  namespace: c.string(),
  /** The job pod's name; absent when prepare_job failed before creating it. */
  jobPod: c.optional(c.string()),
  /** The job container's image (helper image for copy-mode container steps). */
  jobImage: c.optional(c.string()),
  /** Whether the pod has a `job` container (false for service-only jobs). */
  hasJobContainer: c.optional(c.boolean(), true),
  secrets: c.optional(c.array(c.string()), []),
  runnerPod: c.object({ name: c.string(), uid: c.string(), node: c.optional(c.string()) }),
  workspace: workspaceStateSchema,
  steps: c.optional(c.object({ run: c.integer(), failed: c.integer() }), { run: 0, failed: 0 }),
  /** Opaque state of the cache collaborator. */
  clone: c.optional(c.record(c.unknown())),
});
export type JobState = Output<typeof jobStateSchema>;

/**
 * Validates the `state` the runner passed back. Throws `STATE_INVALID` with every problem when it
 * is missing or malformed (e.g. prepare_job did not run or failed).
 */
export function parseJobState(state: unknown): JobState {
  if (state === null || state === undefined) {
    throw new HookError('STATE_INVALID', 'No job state: prepare_job has not completed for this job', {
      hint: 'Check the "Initialize containers" step of this job for the first error.',
    });
  }
  const result = c.parse(jobStateSchema, state);
  if (!result.ok) {
    throw new HookError('STATE_INVALID', `Invalid job state:\n  ${c.formatIssues(result.issues, ['state']).join('\n  ')}`, {
      hint: 'The state was written by an incompatible hook version; re-run the job.',
    });
  }
  return result.value;
}
