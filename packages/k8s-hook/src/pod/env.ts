import type { V1EnvVar } from '@kubernetes/client-node';

/** Variables every job container gets unless the workflow sets them. */
export const CI_DEFAULTS: Readonly<Record<string, string>> = { CI: 'true', GITHUB_ACTIONS: 'true' };

/** An env map as a pod-spec env list, in the map's order, with `CI`/`GITHUB_ACTIONS` defaults. */
export function containerEnv(env: Readonly<Record<string, string>>): V1EnvVar[] {
  const merged = { ...CI_DEFAULTS, ...env };
  return Object.entries(merged).map(([name, value]) => ({ name, value }));
}
