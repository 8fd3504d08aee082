import { createHash } from 'node:crypto';

/** The first 8 hex digits of the SHA-256 of `parts` joined by NUL: the stable part of generated names. */
export function shortHash(...parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 8);
}
