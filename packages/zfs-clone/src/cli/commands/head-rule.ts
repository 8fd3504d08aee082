import { headConfigMapName } from '../../names.js';

/** A Role rule as Kubernetes writes it (rbac.authorization.k8s.io/v1 PolicyRule). */
export interface HeadRoleRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames: readonly string[];
  readonly verbs: readonly string[];
}

/**
 * The rule that lets the runner move the head of `cache` on promotion: `update` on its head
 * ConfigMap by name, never on every ConfigMap (docs/decisions/0016-cache-head-rbac.md).
 */
export function headRoleRule(cache: string): HeadRoleRule {
  return { apiGroups: [''], resources: ['configmaps'], resourceNames: [headConfigMapName(cache)], verbs: ['update'] };
}

const list = (items: readonly string[]) => `[${items.map((i) => JSON.stringify(i)).join(', ')}]`;

/**
 * What `zfs-clone seed` tells the operator after seeding `cache`: the runner's Role must name the
 * new head before a job can promote it, and the rule to add (YAML, as in deploy/rbac/hook-role.yaml).
 */
export function headRoleReminder(cache: string): string {
  const rule = headRoleRule(cache);
  const name = rule.resourceNames[0] ?? '';
  return [
    `Jobs can promote cache ${cache} only if the runner's Role may update its head by name: add "${name}" to the resourceNames`,
    'of the configmaps "update" rule (deploy/rbac/hook-role.yaml, or containerMode.kubernetesModeAdditionalRoleRules in the Helm values),',
    'or add this rule, and apply it. Never leave resourceNames empty: that would cover every ConfigMap.',
    `  - apiGroups: ${list(rule.apiGroups)}`,
    `    resources: ${list(rule.resources)}`,
    `    resourceNames: ${list(rule.resourceNames)}`,
    `    verbs: ${list(rule.verbs)}`,
    '',
  ].join('\n');
}
