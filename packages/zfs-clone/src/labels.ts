import { LABEL_PREFIX } from '@zfs-runner-hooks/vocabulary';

/**
 * The cache's own label and annotation keys. The keys the hook sets too (`runner-pod`,
 * `app.kubernetes.io/managed-by`, `zrh.dev/role`) are `@zfs-runner-hooks/vocabulary`'s.
 */

/** The cache (lineage) an object belongs to. */
export const CACHE = `${LABEL_PREFIX}cache`;
/** Generation number of a promoted snapshot (label, informative; the head history is the truth). */
export const GENERATION = `${LABEL_PREFIX}generation`;
/** Generation number of the snapshot a clone or snapshot descends from. */
export const PARENT_GENERATION = `${LABEL_PREFIX}parent-generation`;
/** Annotation: full name of the parent VolumeSnapshot. */
export const PARENT_SNAPSHOT = `${LABEL_PREFIX}parent-snapshot`;
/** Annotation: RFC 3339 time after which gc may delete a kept object. */
export const EXPIRES_AT = `${LABEL_PREFIX}expires-at`;
/**
 * Annotation: RFC 3339 time a promotion or rollback last claimed the snapshot for a cache head,
 * written right before the head moves to it. The write changes the snapshot's resourceVersion, so
 * a gc that read the snapshot earlier (and deletes only that version) leaves it alone.
 */
export const HEAD_CLAIMED_AT = `${LABEL_PREFIX}head-claimed-at`;
/** Annotation: the volume was made independent of its origin (ZFSPromote done). */
export const DETACHED = `${LABEL_PREFIX}detached`;
/**
 * Annotation on a cache head ConfigMap: the repositories (comma-separated globs over
 * `owner/name`) whose jobs may promote the cache. Written by `zfs-clone seed --repository`.
 */
export const REPOSITORIES = `${LABEL_PREFIX}repositories`;
/** Label `true` on a clone kept for inspection after a failed job, and on a snapshot kept unpromoted. */
export const KEPT = `${LABEL_PREFIX}kept`;

/**
 * What an object is for (the value of `ROLE_LABEL`):
 * - `clone`: a job's working clone (PVC), owned by the job pod.
 * - `candidate`: a snapshot taken back from a clone, not (yet) a generation; its PVC is owned by it.
 * - `generation`: a snapshot the cache head points or pointed at.
 * - `head`: the cache head ConfigMap.
 */
export type Role = 'clone' | 'candidate' | 'generation' | 'head';
