import { readFileSync } from 'node:fs';

/** One `.dockerignore` rule: a pattern, and whether it re-includes (`!`) what it matches. */
interface Rule {
  readonly include: boolean;
  readonly pattern: string;
  readonly regex: RegExp;
}

function patternToRegExp(pattern: string): RegExp {
  let body = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches any number of directories (also none); a final `**` anything.
      if (pattern[i + 2] === '/') {
        body += '(?:.*/)?';
        i += 2;
      } else {
        body += '.*';
        i += 1;
      }
    } else if (c === '*') body += '[^/]*';
    else if (c === '?') body += '[^/]';
    else body += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${body}$`);
}

/** Parses `.dockerignore` text the way the Docker builder reads it (comments, `!`, cleaned paths). */
export function parseDockerignore(text: string): Rule[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => {
      const include = line.startsWith('!');
      const pattern = (include ? line.slice(1) : line).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { include, pattern, regex: patternToRegExp(pattern) };
    });
}

/**
 * Whether `path` (relative to the build context, `/`-separated) is sent to the builder: the last
 * rule matching the path or one of its parent directories decides.
 */
export function isInBuildContext(rules: readonly Rule[], path: string): boolean {
  const parts = path.replace(/\/+$/, '').split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let included = true;
  for (const rule of rules) {
    if (candidates.some((candidate) => rule.regex.test(candidate))) included = rule.include;
  }
  return included;
}

/** Reads and parses a `.dockerignore` file. */
export function readDockerignore(file: string): Rule[] {
  return parseDockerignore(readFileSync(file, 'utf8'));
}
