/** An RBAC PolicyRule as written in a Role or in the chart's additional rules. */
export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
}

/**
 * The rules of the Role that the `gha-runner-scale-set` chart (0.14.x) creates for the runner pods
 * in `kubernetes` mode (templates/kube_mode_role.yaml), before `kubernetesModeAdditionalRoleRules`.
 */
export const ARC_KUBE_MODE_RULES: readonly PolicyRule[] = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'create', 'delete'] },
  { apiGroups: [''], resources: ['pods/exec'], verbs: ['get', 'create'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'create', 'delete'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'create', 'delete'] },
];

/**
 * Every permission a list of rules grants, one `group/resource[/name]:verb` string each
 * (the core group is written as `core`).
 */
export function permissions(rules: readonly PolicyRule[]): Set<string> {
  const out = new Set<string>();
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? ['']) {
      for (const resource of rule.resources ?? []) {
        for (const name of rule.resourceNames?.length ? rule.resourceNames : ['']) {
          for (const verb of rule.verbs) {
            out.add(`${group || 'core'}/${resource}${name ? `/${name}` : ''}:${verb}`);
          }
        }
      }
    }
  }
  return out;
}

/** The permissions in `a` that `b` does not grant, sorted. */
export function missing(a: ReadonlySet<string>, b: ReadonlySet<string>): string[] {
  return [...a].filter((p) => !b.has(p)).sort();
}
