import type { Issue } from '@zfs-runner-hooks/vocabulary';

/**
 * One `<where>.<KEY>: <message>` line per problem: the checks' issues first, then every given
 * variable that is not a known setting (with the nearest known name when one is close).
 */
export function formatIssues(where: string, issues: readonly Issue[], given: readonly string[], known: readonly string[]): string[] {
  const out = issues.map((issue) => `${where}.${issue.path.map(String).join('.')}: ${issue.message}`);
  for (const key of given) {
    if (known.includes(key)) continue;
    const near = nearest(key, known);
    out.push(`${where}.${key}: unknown setting${near ? `; did you mean ${near}?` : ''}`);
  }
  return out;
}

function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of candidates) {
    const d = distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
