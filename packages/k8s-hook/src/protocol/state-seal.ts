import { createHmac, timingSafeEqual } from 'node:crypto';

/** The field of a sealed state that carries its sequence number and MAC. */
export const SEAL_FIELD = 'seal';

/** Bytes of a state key (HMAC-SHA256). */
export const KEY_BYTES = 32;

/** `state.seal`: which state of the job this is, and the HMAC-SHA256 over it and the rest. */
export interface Seal {
  /** 1 for prepare_job's state, then one more for each state the hook hands out. */
  readonly seq: number;
  /** base64url HMAC-SHA256 of `zrh-job-state/1`, `seq` and the canonical JSON of the state without `seal`. */
  readonly mac: string;
}

/** A state as the hook hands it to the runner. */
export type Sealed<T> = T & { readonly seal: Seal };

/**
 * The text the MAC covers: JSON with object keys sorted and members whose value is `undefined`
 * left out (as `JSON.stringify` does), so the runner's re-serialisation (key order, escapes,
 * spacing) does not change it.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function macOf(key: Buffer, seq: number, body: unknown): Buffer {
  return createHmac('sha256', key)
    .update(`zrh-job-state/1\n${seq}\n${canonicalJson(body)}`)
    .digest();
}

/** `state` with a `seal` for sequence number `seq` under `key`. Pure. */
export function sealState<T extends object>(state: T, seq: number, key: Buffer): Sealed<T> {
  const { [SEAL_FIELD]: _old, ...body } = state as Record<string, unknown>;
  return { ...(body as T), seal: { seq, mac: macOf(key, seq, body).toString('base64url') } };
}

/** What `unsealState` found. */
export type Unsealed = { readonly ok: true; readonly seq: number; readonly body: Record<string, unknown> } | { readonly ok: false; readonly reason: string };

/**
 * Checks the seal of a state the runner passed back against `key`. The reason of a failure
 * never quotes the state's content (it may be anything a job wrote).
 */
export function unsealState(raw: unknown, key: Buffer): Unsealed {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'it is not an object' };
  const { [SEAL_FIELD]: seal, ...body } = raw as Record<string, unknown>;
  if (seal === undefined) return { ok: false, reason: 'it carries no seal' };
  if (typeof seal !== 'object' || seal === null) return { ok: false, reason: 'its seal is not an object' };
  const { seq, mac } = seal as Record<string, unknown>;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return { ok: false, reason: 'its seal has no valid sequence number' };
  if (typeof mac !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(mac)) return { ok: false, reason: 'its seal has no valid MAC' };
  const expected = macOf(key, seq, body);
  if (!timingSafeEqual(Buffer.from(mac, 'base64url'), expected)) {
    return { ok: false, reason: "its MAC does not match its content under this job's key (changed after the hook wrote it, or written for another job)" };
  }
  return { ok: true, seq, body };
}
