/**
 * Glob patterns as used in the runner's limits: `*` matches any run of characters (including
 * `/`), `?` one character; everything else is literal. A list is comma-separated.
 */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

/** Whether `value` matches any of `patterns`. */
export function matchesAny(value: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => globToRegExp(p).test(value));
}

/** Splits a comma-separated list, trimming items and dropping empty ones. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
