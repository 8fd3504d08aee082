import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configEnvSchema } from './config.js';
import { renderHookConfigurationReference } from './config-reference.js';

const committed = fileURLToPath(new URL('../../../docs/hook-configuration.md', import.meta.url));

describe('renderHookConfigurationReference', () => {
  it('documents every variable of the schema with a description', () => {
    const text = renderHookConfigurationReference();
    for (const [name, schema] of Object.entries(configEnvSchema.shape)) {
      expect(schema.doc.description, name).toBeTruthy();
      expect(text).toContain(`| \`${name}\` |`);
    }
    expect(text).toContain('| `ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS` | seconds | `600` |');
    expect(text).toContain('| `ZRH_WORKSPACE_MODE` | auto\\|volume\\|copy | `auto` |');
  });

  it('matches the committed docs/hook-configuration.md (regenerate with `pnpm run docs:config`)', () => {
    expect(readFileSync(committed, 'utf8')).toBe(renderHookConfigurationReference());
  });
});
