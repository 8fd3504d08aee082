import { z } from 'zod';
import { SNAPSHOT_BACK_POLICIES } from '../config/workflow-settings.js';

/**
 * What cleanup_job needs about a job's clone, carried by the hook in its `state` (cleanup_job gets
 * no `container.env`, so the resolved settings travel here). Nothing secret.
 */
export const cloneStateSchema = z.object({
  version: z.literal(1),
  namespace: z.string(),
  runnerPod: z.string(),
  pvc: z.string(),
  /**
   * Where the clone is mounted in the job container; cleanup flushes that file system alone.
   * Absent in states written before it was recorded: cleanup then flushes with a plain `sync`.
   */
  mountPath: z.string().optional(),
  jobPod: z.string().optional(),
  source: z.object({ kind: z.enum(['cache', 'snapshot']), name: z.string() }),
  /** The snapshot cloned (the cache head at prepare time). */
  snapshot: z.string(),
  restoreSize: z.string(),
  cache: z.object({ name: z.string(), generation: z.number().int() }).optional(),
  policy: z.object({
    snapshotBack: z.enum(SNAPSHOT_BACK_POLICIES),
    promote: z.boolean(),
    snapshotClass: z.string().optional(),
    keepOnFailureSeconds: z.number().int().nonnegative(),
    onConflict: z.enum(['drop', 'keep']),
    keepTtlSeconds: z.number().int().nonnegative(),
    maxKeptClones: z.number().int().nonnegative(),
    keepGenerations: z.number().int().positive(),
    gcOnCleanup: z.boolean(),
    timeoutSeconds: z.number().int().positive(),
    by: z.string().optional(),
  }),
});

/** A job's clone, as kept in the hook's state. */
export type CloneState = z.infer<typeof cloneStateSchema>;
