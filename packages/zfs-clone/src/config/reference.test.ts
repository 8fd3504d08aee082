import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderConfigurationReference } from './reference.js';

const committed = fileURLToPath(new URL('../../../../docs/configuration.md', import.meta.url));

describe('renderConfigurationReference', () => {
  it('documents every workflow and runner variable with its default', () => {
    const text = renderConfigurationReference();
    expect(text).toContain('| `ZFS_CLONE_MOUNT_PATH` | absolute path | `/CONAN_HOME` |');
    expect(text).toContain('| `ZFS_CLONE_PROMOTE_EVENTS` | glob list | `push,schedule,workflow_dispatch` |');
    expect(text).toContain('| `ZFS_CLONE_SNAPSHOT_BACK` | never\\|always\\|on-success | — |');
  });

  it('matches the committed docs/configuration.md (run packages/zfs-clone/scripts/gen-config-docs)', () => {
    expect(readFileSync(committed, 'utf8')).toBe(renderConfigurationReference());
  });
});
