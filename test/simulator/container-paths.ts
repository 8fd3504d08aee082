import type { WorkLayout } from './work-layout.js';

/** Container path of the runner's `_work`. */
export const CONTAINER_WORK = '/__w';
/** Container path of the runner's externals. */
export const CONTAINER_EXTERNALS = '/__e';

/**
 * Translates a runner path into the path a job container sees, with the runner's own mapping
 * order: `_github_home` → `/github/home`, `_github_workflow` → `/github/workflow` (added first, so
 * they win), then `_work` → `/__w` and externals → `/__e`. Other paths are returned unchanged.
 */
export function toContainerPath(layout: WorkLayout, hostPath: string): string {
  const mappings: Array<[string, string]> = [
    [layout.githubHome, '/github/home'],
    [layout.githubWorkflow, '/github/workflow'],
    [layout.workDir, CONTAINER_WORK],
    [layout.externalsDir, CONTAINER_EXTERNALS],
  ];
  for (const [host, container] of mappings) {
    if (hostPath === host) return container;
    if (hostPath.startsWith(`${host}/`)) return container + hostPath.slice(host.length);
  }
  return hostPath;
}
