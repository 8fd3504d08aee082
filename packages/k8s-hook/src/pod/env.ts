import type { V1EnvVar } from '@kubernetes/client-node';

/** Variables every job container gets unless the workflow sets them. */
export const CI_DEFAULTS: Readonly<Record<string, string>> = { CI: 'true', GITHUB_ACTIONS: 'true' };

/**
 * Text that Kubernetes passes on as it is. In a container's `command`, `args` and `env[].value`
 * the kubelet expands `$(NAME)` from the container's environment and turns `$$` into `$`, which
 * Docker never does; doubling every `$` makes the kubelet hand over the text byte for byte.
 */
export function literal(text: string): string {
  return text.replace(/\$/g, () => '$$');
}

/** Env entries with their values made `literal` (the workflow's, the hook's, never the template's). */
export function literalEnv(env: readonly { readonly name: string; readonly value?: string | undefined }[]): V1EnvVar[] {
  return env.map((e) => ({ name: e.name, value: literal(e.value ?? '') }));
}

/**
 * An env map as a pod-spec env list, in the map's order, with `CI`/`GITHUB_ACTIONS` defaults and
 * every value `literal`.
 */
export function containerEnv(env: Readonly<Record<string, string>>): V1EnvVar[] {
  const merged = { ...CI_DEFAULTS, ...env };
  return literalEnv(Object.entries(merged).map(([name, value]) => ({ name, value })));
}
