/**
 * The label keys the hook and the cache both put on the objects they create. Keys of one package
 * alone live with it (`zfs-clone`'s `labels.ts`, the hook's `pod/labels.ts`), under the same prefix.
 */

/** The runner pod an object belongs to; ARC's garbage collection deletes by it. */
export const RUNNER_POD_LABEL = 'runner-pod';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** The value of {@link MANAGED_BY_LABEL} on every object of this project. */
export const MANAGED_BY = 'zfs-runner-hooks';
/** The prefix of the project's own label and annotation keys. */
export const LABEL_PREFIX = 'zrh.dev/';
/** What an object is for (each package names its own roles). */
export const ROLE_LABEL = `${LABEL_PREFIX}role`;
/** Selects every object of this project. */
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
