import { shortHash } from '@zfs-runner-hooks/vocabulary';

const DNS1123_MAX = 63;

/**
 * `<prefix>-<hash8>` as a DNS-1123 label (≤ 63 chars): the prefix is sanitised and shortened,
 * never the hash, so distinct inputs keep distinct names.
 */
export function dnsName(prefix: string, ...hashed: readonly string[]): string {
  const hash = shortHash(prefix, ...hashed);
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, DNS1123_MAX - hash.length - 1)
    .replace(/-+$/, '');
  return clean ? `${clean}-${hash}` : `zc-${hash}`;
}

/** Name of the head ConfigMap of cache `cache`. */
export function headConfigMapName(cache: string): string {
  return `zfs-cache-${cache}`;
}
