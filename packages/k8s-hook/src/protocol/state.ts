import * as z from 'zod';
import { HookError } from '../errors.js';
import { formatIssues } from './issues.js';

/** How the runner's `_work` reaches the job pod. See docs/decisions/0003-workspace-modes.md. */
export const WORKSPACE_MODES = ['volume', 'copy'] as const;
export type WorkspaceMode = (typeof WORKSPACE_MODES)[number];

const workspaceStateSchema = z.looseObject({
  mode: z.enum(WORKSPACE_MODES),
  /** The runner's `_work` directory on the runner pod, e.g. `/home/runner/_work`. */
  workDir: z.string(),
  /** The runner's externals directory on the runner pod. */
  externalsDir: z.string(),
  /** volume mode: the work claim and the directory of `_work` inside it. */
  claimName: z.string().optional(),
  claimSubPath: z.string().optional(),
  /** volume mode with a single-node claim: the node every pod of the job must run on. */
  pinnedNode: z.string().optional(),
  /** copy mode: what is already in the job pod (`_actions/<owner>/<repo>/<ref>`, `node20`, …). */
  copiedActions: z.array(z.string()).default([]),
  copiedExternals: z.array(z.string()).default([]),
});
export type WorkspaceState = z.output<typeof workspaceStateSchema>;

/**
 * What one job carries between hook calls (version 1). Everything cleanup needs, nothing secret.
 */
export const jobStateSchema = z.looseObject({
  version: z.literal(1),
  namespace: z.string(),
  /** The job pod's name; absent when prepare_job failed before creating it. */
  jobPod: z.string().optional(),
  /** The job container's image (helper image for copy-mode container steps). */
  jobImage: z.string().optional(),
  /** Whether the pod has a `job` container (false for service-only jobs). */
  hasJobContainer: z.boolean().default(true),
  secrets: z.array(z.string()).default([]),
  runnerPod: z.looseObject({ name: z.string(), uid: z.string(), node: z.string().optional() }),
  workspace: workspaceStateSchema,
  steps: z.looseObject({ run: z.number().int(), failed: z.number().int() }).default({ run: 0, failed: 0 }),
  /** Opaque state of the cache collaborator. */
  clone: z.record(z.string(), z.unknown()).optional(),
});
export type JobState = z.output<typeof jobStateSchema>;

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
  const result = jobStateSchema.safeParse(state, { reportInput: true });
  if (!result.success) {
    throw new HookError(
      'STATE_INVALID',
      `Invalid job state:\n  ${formatIssues(result.error.issues, ['state']).join('\n  ')}`,
      { hint: 'The state was written by an incompatible hook version; re-run the job.' },
    );
  }
  return result.data;
}

/** Like `parseJobState`, but returns `undefined` for missing or malformed state (cleanup_job). */
export function tryParseJobState(state: unknown): JobState | undefined {
  const result = jobStateSchema.safeParse(state);
  return result.success ? result.data : undefined;
}
