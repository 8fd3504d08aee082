/** The metadata fields a retried write compares. */
export interface ObjectMetadata {
  readonly name?: string | undefined;
  readonly resourceVersion?: string | undefined;
  readonly labels: Readonly<Record<string, unknown>>;
  readonly annotations: Readonly<Record<string, unknown>>;
  readonly ownerUids: readonly string[];
}

const record = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Reads an object's metadata without trusting its shape. */
export function metadataOf(object: unknown): ObjectMetadata {
  const meta = record(record(object).metadata);
  const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences : [];
  return {
    name: text(meta.name),
    resourceVersion: text(meta.resourceVersion),
    labels: record(meta.labels),
    annotations: record(meta.annotations),
    ownerUids: owners.map((o) => text(record(o).uid)).filter((uid): uid is string => uid !== undefined),
  };
}

/**
 * Why `existing` is not provably the object `body` created, or `undefined` when it is: every label
 * of the body is on it with the same value, and it has exactly the body's owners (by uid). A body
 * without owner references proves nothing.
 */
export function adoptionMismatch(body: unknown, existing: unknown): string | undefined {
  const want = metadataOf(body);
  const have = metadataOf(existing);
  if (want.ownerUids.length === 0) return 'the request has no owner reference that could show the object is its own';
  for (const [key, value] of Object.entries(want.labels)) {
    if (have.labels[key] !== value) {
      return `its label ${key} is ${have.labels[key] === undefined ? 'missing' : JSON.stringify(have.labels[key])}, not ${JSON.stringify(value)}`;
    }
  }
  const mine = new Set(want.ownerUids);
  const theirs = new Set(have.ownerUids);
  if (mine.size !== theirs.size || [...mine].some((uid) => !theirs.has(uid))) {
    return `its owners (uid ${[...theirs].join(', ') || 'none'}) are not the request's (uid ${[...mine].join(', ')})`;
  }
  return undefined;
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => equal(v, b[i]));
  }
  if (!a || !b || typeof a !== 'object' || typeof b !== 'object') return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Whether `current` holds what a replace with `body` wrote: every field but metadata and status
 * equal, and the body's labels and annotations on it with the same values.
 */
export function sameContent(body: unknown, current: unknown): boolean {
  const b = record(body);
  const c = record(current);
  for (const key of new Set([...Object.keys(b), ...Object.keys(c)])) {
    if (key === 'metadata' || key === 'status' || key === 'apiVersion' || key === 'kind') continue;
    if (!equal(b[key], c[key])) return false;
  }
  const want = metadataOf(body);
  const have = metadataOf(current);
  return (
    Object.entries(want.labels).every(([k, v]) => equal(have.labels[k], v)) && Object.entries(want.annotations).every(([k, v]) => equal(have.annotations[k], v))
  );
}
