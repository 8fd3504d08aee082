import type { z } from 'zod';

/** Renders a path such as `args.services[1].image`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** The JSON type name of a value, as a user would call it. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * One line per problem, each with its path: `args.container.image: expected string, got null`.
 * Values are never printed (they may be secrets); only their types.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string[] {
  return issues.map((issue) => {
    const path = formatPath([...prefix, ...issue.path]);
    if (issue.code === 'invalid_type') {
      return `${path}: expected ${issue.expected}, got ${typeName(issue.input)}`;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const expected = issue.errors.flatMap((branch) =>
        branch.filter((i) => i.code === 'invalid_type').map((i) => (i as { expected: string }).expected),
      );
      if (expected.length > 0) {
        return `${path}: expected ${[...new Set(expected)].join(' or ')}, got ${typeName(issue.input)}`;
      }
    }
    if (issue.code === 'invalid_value') {
      return `${path}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${typeName(issue.input)}`;
    }
    return `${path}: ${issue.message}`;
  });
}
