/**
 * The hook's Role (deploy/rbac/hook-role.yaml) as a test or benchmark namespace needs it: the
 * ConfigMaps it may update are the heads of the caches that namespace seeds, as an operator lists
 * the caches of a scale set (docs/decisions/0016-cache-head-rbac.md).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { V1PolicyRule, V1Role } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { headConfigMapName } from '../../packages/zfs-clone/src/names.js';

/** The shipped Role every hook process of the tests runs under. */
export const HOOK_ROLE_FILE = fileURLToPath(new URL('../../deploy/rbac/hook-role.yaml', import.meta.url));

const isHeadRule = (rule: V1PolicyRule) => rule.resources?.includes('configmaps') === true && (rule.resourceNames?.length ?? 0) > 0;

/**
 * deploy/rbac/hook-role.yaml with the cache-head rule naming the heads of `caches` (and nothing
 * else), in `namespace`. With no caches the rule is left out: an empty `resourceNames` would
 * grant every ConfigMap.
 */
export function hookRole(namespace: string, caches: readonly string[]): V1Role {
  const role = parse(readFileSync(HOOK_ROLE_FILE, 'utf8')) as V1Role;
  const rules = role.rules ?? [];
  const headRules = rules.filter(isHeadRule);
  if (headRules.length !== 1)
    throw new Error(`${HOOK_ROLE_FILE}: expected one configmaps rule with resourceNames (the cache heads), found ${headRules.length}`);
  return {
    ...role,
    metadata: { ...role.metadata, namespace },
    rules: rules.flatMap((rule) => (!isHeadRule(rule) ? [rule] : caches.length === 0 ? [] : [{ ...rule, resourceNames: caches.map(headConfigMapName) }])),
  };
}

/** {@link hookRole} as YAML, for test/cluster/sa-kubeconfig.sh. */
export function hookRoleYaml(namespace: string, caches: readonly string[]): string {
  return stringify(hookRole(namespace, caches));
}
