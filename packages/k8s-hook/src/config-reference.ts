import { renderSettingsTable } from '@zfs-runner-hooks/vocabulary';
import { configEnvSchema } from './config.js';

/**
 * The hook's configuration reference (markdown), generated from `configEnvSchema`. Committed as
 * `docs/hook-configuration.md`; a unit test fails when the committed file is stale.
 */
export function renderHookConfigurationReference(): string {
  return `<!-- Generated from packages/k8s-hook/src/config.ts (configEnvSchema); see src/config-reference.test.ts. Do not edit. -->
# Hook configuration

The hook reads these variables from the runner container's environment (the Helm values'
\`template.spec.containers[runner].env\`). The upstream hook's variables keep their meaning; the
hook's own start with \`ZRH_\`. Every invalid variable is reported at once and the command fails.
An empty value counts as unset. Booleans are \`true\` or \`false\` (also \`1\`/\`yes\`/\`on\` and
\`0\`/\`no\`/\`off\`, in any case), as in the cache settings (\`docs/configuration.md\`).

${renderSettingsTable(configEnvSchema)}
`;
}
