/** Label and annotation keys on every object this package creates. */
export const MANAGED_BY = 'app.kubernetes.io/managed-by';
/** Value of {@link MANAGED_BY}; shared with the hook. */
export const MANAGED_BY_VALUE = 'zfs-runner-hooks';
/** The runner pod a per-job object belongs to (same key the hook uses). */
export const RUNNER_POD = 'runner-pod';
/** The cache (lineage) an object belongs to. */
export const CACHE = 'zrh.dev/cache';
/** What an object is for; see {@link Role}. */
export const ROLE = 'zrh.dev/role';
/** Generation number of a promoted snapshot (label, informative; the head history is the truth). */
export const GENERATION = 'zrh.dev/generation';
/** Generation number of the snapshot a clone or snapshot descends from. */
export const PARENT_GENERATION = 'zrh.dev/parent-generation';
/** Annotation: full name of the parent VolumeSnapshot. */
export const PARENT_SNAPSHOT = 'zrh.dev/parent-snapshot';
/** Annotation: RFC 3339 time after which gc may delete a kept object. */
export const EXPIRES_AT = 'zrh.dev/expires-at';
/** Annotation: the volume was made independent of its origin (ZFSPromote done). */
export const DETACHED = 'zrh.dev/detached';
/**
 * Annotation on a cache head ConfigMap: the repositories (comma-separated globs over
 * `owner/name`) whose jobs may promote the cache. Written by `zfs-clone seed --repository`.
 */
export const REPOSITORIES = 'zrh.dev/repositories';
/** Label `true` on a clone kept for inspection after a failed job, and on a snapshot kept unpromoted. */
export const KEPT = 'zrh.dev/kept';

/**
 * - `clone`: a job's working clone (PVC), owned by the job pod.
 * - `candidate`: a snapshot taken back from a clone, not (yet) a generation; its PVC is owned by it.
 * - `generation`: a snapshot the cache head points or pointed at.
 * - `head`: the cache head ConfigMap.
 */
export type Role = 'clone' | 'candidate' | 'generation' | 'head';

/** Label selector for every object this package manages. */
export const MANAGED_SELECTOR = `${MANAGED_BY}=${MANAGED_BY_VALUE}`;
