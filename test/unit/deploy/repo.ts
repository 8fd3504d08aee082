import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (the Docker build context and the base of every deploy path). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** An absolute path from a repository-relative one. */
export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}
