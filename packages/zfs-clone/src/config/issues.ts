import type { z } from 'zod';

/** Formats zod issues as `<where>.<KEY>: <message>` lines, one per problem. */
export function formatIssues(where: string, error: z.ZodError, known: readonly string[]): string[] {
  const out: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const near = nearest(key, known);
        out.push(`${where}.${key}: unknown setting${near ? `; did you mean ${near}?` : ''}`);
      }
      continue;
    }
    const path = issue.path.map(String).join('.');
    out.push(`${where}.${path}: ${issue.message}`);
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
