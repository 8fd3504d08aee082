import type { V1Role } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { readYaml } from './deploy-files.js';
import { readValues, VALUES_FILE } from './helm-values.js';
import { permissions, type PolicyRule } from './rbac-rules.js';

const HOOK_ROLE_FILE = 'deploy/rbac/hook-role.yaml';
/** Verbs that return a Secret's data: `list` and `watch` return every Secret's, not only names. */
const READ_VERBS = new Set(['get', 'list', 'watch', '*']);

/** The verbs by which `rules` let the runner read Secrets. */
function secretReads(rules: readonly PolicyRule[]): string[] {
  const out = new Set<string>();
  for (const rule of rules) {
    const core = (rule.apiGroups ?? []).some((g) => g === '' || g === '*');
    const secrets = (rule.resources ?? []).some((r) => r === 'secrets' || r === '*');
    if (core && secrets) for (const verb of rule.verbs) if (READ_VERBS.has(verb)) out.add(verb);
  }
  return [...out].sort();
}

describe('what the runner may do with Secrets', () => {
  const role = readYaml(HOOK_ROLE_FILE) as V1Role;

  it(`${HOOK_ROLE_FILE} creates and deletes Secrets, and cannot read one`, () => {
    expect(secretReads(role.rules ?? [])).toEqual([]);
    const secretPermissions = [...permissions(role.rules ?? [])].filter((p) => p.startsWith('core/secrets')).sort();
    expect(secretPermissions).toEqual(['core/secrets:create', 'core/secrets:delete']);
  });

  it(`${VALUES_FILE} adds no Secret rule to the chart's Role`, () => {
    const added = readValues().containerMode?.kubernetesModeAdditionalRoleRules ?? [];
    expect([...permissions(added)].filter((p) => p.includes('/secrets'))).toEqual([]);
  });

  it('recognises a read through a wildcard (the checks above can fail)', () => {
    expect(secretReads([{ apiGroups: [''], resources: ['secrets'], verbs: ['list', 'create', 'delete'] }])).toEqual(['list']);
    expect(secretReads([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }])).toEqual(['*']);
    expect(secretReads([{ apiGroups: [''], resources: ['secrets'], verbs: ['create', 'delete'] }])).toEqual([]);
  });
});
