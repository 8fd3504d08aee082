/** Where a job's clone comes from. */
export type CloneSource =
  /** The current head of a named cache (a lineage of snapshots that jobs can promote into). */
  | { readonly kind: 'cache'; readonly name: string }
  /** One fixed VolumeSnapshot; cannot be promoted into. */
  | { readonly kind: 'snapshot'; readonly name: string };

const CACHE_NAME = /^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/;
const OBJECT_NAME = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;

/** Syntax of a source, for messages and the configuration reference. */
export const SOURCE_SYNTAX = '`<cache>`, `cache:<cache>` or `snapshot:<VolumeSnapshot>`';

/**
 * Parses `gcc12-main`, `cache:gcc12-main` or `snapshot:gcc12-main-2024-06-01`; returns an error
 * text when the value is not a source.
 */
export function parseSource(text: string): CloneSource | string {
  const value = text.trim();
  const colon = value.indexOf(':');
  const prefix = colon < 0 ? 'cache' : value.slice(0, colon);
  const name = colon < 0 ? value : value.slice(colon + 1);
  if (prefix === 'cache') {
    return CACHE_NAME.test(name) ? { kind: 'cache', name } : `"${name}" is not a cache name (lower-case letters, digits and "-", at most 53 characters)`;
  }
  if (prefix === 'snapshot') {
    return OBJECT_NAME.test(name) ? { kind: 'snapshot', name } : `"${name}" is not a VolumeSnapshot name`;
  }
  return `unknown source kind "${prefix}"; write ${SOURCE_SYNTAX}`;
}

/** `cache:<name>` or `snapshot:<name>`: the form allow-list patterns are matched against. */
export function formatSource(source: CloneSource): string {
  return `${source.kind}:${source.name}`;
}

/** Whether `name` is a valid cache name. */
export function isCacheName(name: string): boolean {
  return CACHE_NAME.test(name);
}
