import { check as c } from '@zfs-runner-hooks/vocabulary';
import { SNAPSHOT_BACK_POLICIES } from '../config/workflow-settings.js';

/**
 * What cleanup_job needs about a job's clone, carried by the hook in its `state` (cleanup_job gets
 * no `container.env`, so the workflow's wishes travel here). Nothing secret, and nothing trusted:
 * the state comes back through the runner from a file the job may have touched, so cleanup_job
 * checks it against the clone PVC's labels and re-reads every limit from the hook's environment.
 */
export const cloneStateSchema = c.object({
  version: c.literal(1),
  namespace: c.string(),
  runnerPod: c.string(),
  pvc: c.string(),
  /**
   * Where the clone is mounted in the job container; cleanup flushes that file system alone.
   * Absent in states written before it was recorded: cleanup then flushes with a plain `sync`.
   */
  mountPath: c.optional(c.string()),
  jobPod: c.optional(c.string()),
  source: c.object({ kind: c.oneOf(['cache', 'snapshot'] as const), name: c.string() }),
  /** The snapshot cloned (the cache head at prepare time). */
  snapshot: c.string(),
  restoreSize: c.string(),
  cache: c.optional(c.object({ name: c.string(), generation: c.integer() })),
  /**
   * What the job asked for, after prepare_job's checks. Only wishes: cleanup_job decides again
   * from the hook's own environment what the job may do (states from older versions carry more
   * keys, which are ignored).
   */
  policy: c.object({
    snapshotBack: c.oneOf(SNAPSHOT_BACK_POLICIES),
    promote: c.boolean(),
    snapshotClass: c.optional(c.string()),
    keepOnFailureSeconds: c.integer(0),
    onConflict: c.oneOf(['drop', 'keep'] as const),
  }),
});

/** A job's clone, as kept in the hook's state. */
export type CloneState = c.Output<typeof cloneStateSchema>;
