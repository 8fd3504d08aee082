import type { V1Role } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { matchesAny, splitList } from '../../../packages/zfs-clone/src/config/glob.js';
import { headConfigMapName } from '../../../packages/zfs-clone/src/names.js';
import { headRoleReminder } from '../../../packages/zfs-clone/src/cli/commands/head-rule.js';
import { readYaml } from './deploy-files.js';
import { readValues, runnerEnv, VALUES_FILE } from './helm-values.js';
import { ARC_KUBE_MODE_RULES, type PolicyRule } from './rbac-rules.js';

const HOOK_ROLE_FILE = 'deploy/rbac/hook-role.yaml';
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection', '*']);
const HEAD_PREFIX = headConfigMapName('');

const values = readValues();
const roles: [string, readonly PolicyRule[]][] = [
  [HOOK_ROLE_FILE, (readYaml(HOOK_ROLE_FILE) as V1Role).rules ?? []],
  [`the chart's kube-mode Role with ${VALUES_FILE}`, [...ARC_KUBE_MODE_RULES, ...(values.containerMode?.kubernetesModeAdditionalRoleRules ?? [])]],
];

/** The ConfigMaps a rule lets the runner write: `*` for every one, else its resourceNames. */
function writableConfigMaps(rules: readonly PolicyRule[]): string[] {
  const out: string[] = [];
  for (const rule of rules) {
    const core = (rule.apiGroups ?? []).some((g) => g === '' || g === '*');
    const configMaps = (rule.resources ?? []).some((r) => r === 'configmaps' || r === '*');
    const writes = rule.verbs.some((v) => WRITE_VERBS.has(v));
    if (core && configMaps && writes) out.push(...(rule.resourceNames?.length ? rule.resourceNames : ['*']));
  }
  return out;
}

/** The name of the ConfigMap mounted as the hook template in the values' pod template. */
function hookTemplateConfigMap(): string | undefined {
  const path = runnerEnv(values).get('ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE') ?? '';
  const container = values.template?.spec?.containers.find((c) => c.name === 'runner');
  const mount = container?.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
  return values.template?.spec?.volumes?.find((v) => v.name === mount?.name)?.configMap?.name;
}

describe('what the runner may write among ConfigMaps', () => {
  it.each(roles)('%s writes only cache heads, by name', (_role, rules) => {
    const writable = writableConfigMaps(rules);
    expect(writable.length, 'promotion needs update on at least one cache head').toBeGreaterThan(0);
    expect(writable.filter((name) => !name.startsWith(HEAD_PREFIX))).toEqual([]);
  });

  it.each(roles)('%s cannot write the hook template ConfigMap', (_role, rules) => {
    const template = hookTemplateConfigMap();
    expect(template, `${VALUES_FILE} mounts no hook template ConfigMap`).toBeTruthy();
    expect(template?.startsWith(HEAD_PREFIX), 'the hook template must not be named like a cache head').toBe(false);
    expect(writableConfigMaps(rules)).not.toContain(template);
  });

  it.each(roles)('%s updates the heads only of caches the runners may clone (ZFS_CLONE_ALLOWED_SOURCES)', (_role, rules) => {
    const allowed = splitList(runnerEnv(values).get('ZFS_CLONE_ALLOWED_SOURCES') ?? 'cache:*');
    const caches = writableConfigMaps(rules).map((name) => name.slice(HEAD_PREFIX.length));
    expect(caches.filter((cache) => !matchesAny(`cache:${cache}`, allowed))).toEqual([]);
  });

  it('recognises a namespace-wide or wildcard write as one (the check above can fail)', () => {
    expect(writableConfigMaps([{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'update'] }])).toEqual(['*']);
    expect(writableConfigMaps([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }])).toEqual(['*']);
    expect(writableConfigMaps([{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }])).toEqual([]);
  });

  it.each(roles)("%s: the rule `zfs-clone seed` prints is its cache-head rule, for the new cache's head", (_role, rules) => {
    const printed = parse(headRoleReminder('clang17-main').split('\n').slice(3).join('\n')) as PolicyRule[];
    const heads = rules.filter((r) => r.resources?.includes('configmaps') && (r.resourceNames?.length ?? 0) > 0);
    expect(heads).toHaveLength(1);
    expect(printed).toEqual([{ ...heads[0], resourceNames: ['zfs-cache-clang17-main'] }]);
  });
});
