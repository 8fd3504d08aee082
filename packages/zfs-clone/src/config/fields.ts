import { matchingField, parseBoolean, parseDuration, Problem, textField } from '@zfs-runner-hooks/vocabulary';
import { splitList } from './glob.js';
import { parseSource, type CloneSource } from './source.js';

/**
 * The cache's own field checks (sources, names, paths, glob lists, bindings), in the settings
 * grammar of `@zfs-runner-hooks/vocabulary`, which also gives booleans, numbers and durations.
 */

/** A source (`<cache>`, `cache:<cache>`, `snapshot:<name>`) or `none`. */
export const sourceField = textField<CloneSource | 'none'>((text) => {
  if (text.trim() === 'none') return 'none';
  const parsed = parseSource(text);
  return typeof parsed === 'string' ? new Problem(parsed) : parsed;
});

export const objectNameField = matchingField(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, 'expected a Kubernetes object name (lower-case, digits, "-", ".")');

export const absolutePathField = textField((path) => {
  if (!/^\/[^\0]*$/.test(path)) return new Problem('expected an absolute path');
  if (path.split('/').includes('..')) return new Problem('must not contain ".."');
  if (path === '/') return new Problem('must not be "/"');
  return path;
});

export const identifierField = matchingField(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

/** `false`/`0` (off), `true` (the runner's default time to keep) or a duration. */
export const keepField = textField<number | 'default'>((text) => {
  const keep = parseBoolean(text);
  if (keep !== undefined) return keep ? 'default' : 0;
  return parseDuration(text) ?? new Problem('expected true, false or a duration such as 24h');
});

/** A comma-separated list of glob patterns. */
export const globListField = textField((text) => splitList(text));

/** A cache bound to the repositories that may promote it: `<cache glob>=<repository glob>`. */
export interface CacheBinding {
  readonly cache: string;
  readonly repository: string;
}

/** A comma-separated list of `<cache glob>=<repository glob>` entries (`gcc12-*=acme/compiler,clang17=acme/*`). */
export const bindingListField = textField<CacheBinding[]>((text) => {
  const bindings: CacheBinding[] = [];
  for (const entry of splitList(text)) {
    const parts = entry.split('=').map((s) => s.trim());
    const [cache = '', repository = ''] = parts;
    if (parts.length !== 2 || cache === '' || repository === '') {
      return new Problem(`"${entry}" is not <cache glob>=<repository glob>; write e.g. gcc12-*=your-org/compiler`);
    }
    bindings.push({ cache, repository });
  }
  return bindings;
});
