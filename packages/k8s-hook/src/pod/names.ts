import { shortHash } from '@zfs-runner-hooks/vocabulary';

const MAX_NAME = 63;

/** Lower-cases and replaces anything outside DNS-1123 label characters; trims dashes. */
export function toDnsLabel(raw: string, maxLength = MAX_NAME): string {
  const label = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, maxLength)
    .replace(/^-+|-+$/g, '');
  return label;
}

/** Kinds of objects the hook names. */
export type ObjectKind = 'job' | 'step' | 'reg' | 'env';

/**
 * How the hook creates objects named by `objectName`: the name holds a random seed, so a 409 to a
 * retried create is the object an earlier attempt made (the hook may not read its Secrets to check).
 */
export const UNIQUE_NAME = { uniqueName: true } as const;

/**
 * A unique DNS-1123 name of at most 63 characters: `<runner-pod-prefix>-<kind>-<hash8>`, where the
 * hash covers the full runner pod name and `seed` (so truncating the prefix never collides).
 */
export function objectName(runnerPodName: string, kind: ObjectKind, seed: string): string {
  const suffix = `-${kind}-${shortHash(runnerPodName, kind, seed)}`;
  const prefix = toDnsLabel(runnerPodName, MAX_NAME - suffix.length) || 'runner';
  return `${prefix}${suffix}`;
}

/** Whether `name` is one `objectName(runnerPodName, kind, …)` can return, for one of `kinds`. */
export function isObjectNameOf(runnerPodName: string, kinds: readonly ObjectKind[], name: string): boolean {
  return kinds.some((kind) => {
    const prefix = toDnsLabel(runnerPodName, MAX_NAME - kind.length - 10) || 'runner';
    return name.length === prefix.length + kind.length + 10 && name.startsWith(`${prefix}-${kind}-`) && /^[0-9a-f]{8}$/.test(name.slice(-8));
  });
}

/**
 * The last path segment of an image reference, without tag or digest:
 * `ghcr.io/org/my_db:1.2@sha256:…` → `my_db`.
 */
export function imageBaseName(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSegment = withoutDigest.split('/').pop() ?? withoutDigest;
  return lastSegment.split(':')[0] ?? lastSegment;
}

/** Container names the hook uses itself; services never get them. */
export const RESERVED_CONTAINER_NAMES: readonly string[] = ['job', 'zrh-io', 'step'];

/**
 * Container names for services, in request order: the image's base name as a DNS-1123 label,
 * de-duplicated with `-2`, `-3`, … (`redis`, `redis-2`), never a reserved name.
 */
export function serviceContainerNames(images: readonly string[]): string[] {
  const taken = new Set(RESERVED_CONTAINER_NAMES);
  return images.map((image) => {
    const base = toDnsLabel(imageBaseName(image), MAX_NAME - 4) || 'service';
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
    taken.add(name);
    return name;
  });
}
