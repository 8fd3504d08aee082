import { check as c } from '@zfs-runner-hooks/kube';
import { configEnvSchema } from './config.js';

/** The documented default of each setting: what `loadConfig` resolves for an unset variable. */
function defaultOf(name: string): string {
  const parsed = c.parse(configEnvSchema, { ACTIONS_RUNNER_POD_NAME: 'runner' });
  const value = parsed.ok ? (parsed.value as Record<string, unknown>)[name] : undefined;
  if (name === 'ACTIONS_RUNNER_POD_NAME' || value === undefined || value === false) return '—';
  return `\`${String(value)}\``;
}

/**
 * The hook's configuration reference (markdown), generated from `configEnvSchema`. Committed as
 * `docs/hook-configuration.md`; a unit test fails when the committed file is stale.
 */
export function renderHookConfigurationReference(): string {
  const rows = Object.entries(configEnvSchema.shape).map(
    ([name, schema]) => `| \`${name}\` | ${defaultOf(name)} | ${(schema.description ?? '').replace(/\|/g, '\\|')} |`,
  );
  return `<!-- Generated from packages/k8s-hook/src/config.ts (configEnvSchema); see src/config-reference.test.ts. Do not edit. -->
# Hook configuration

The hook reads these variables from the runner container's environment (the Helm values'
\`template.spec.containers[runner].env\`). The upstream hook's variables keep their meaning; the
hook's own start with \`ZRH_\`. Every invalid variable is reported at once and the command fails.
The ZFS-clone cache settings are in \`docs/configuration.md\`.

| Variable | Default | Meaning |
| --- | --- | --- |
${rows.join('\n')}
`;
}
