import type { V1CronJob, V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { readYamlDocs } from './deploy-files.js';
import { copiesOf, readStages } from './dockerfile-stages.js';
import { readValues, runnerContainer, runnerEnv } from './helm-values.js';
import { permissions } from './rbac-rules.js';
import { repoPath } from './repo.js';

const FILE = 'deploy/cache/gc-cronjob.yaml';
const docs = readYamlDocs(FILE) as ({ kind: string } & (V1CronJob | V1Role | V1RoleBinding | V1ServiceAccount))[];
const cronJob = docs.find((d) => d.kind === 'CronJob') as V1CronJob;
const role = docs.find((d) => d.kind === 'Role') as V1Role;
const binding = docs.find((d) => d.kind === 'RoleBinding') as V1RoleBinding;
const serviceAccount = docs.find((d) => d.kind === 'ServiceAccount') as V1ServiceAccount;
const pod = cronJob.spec?.jobTemplate.spec?.template.spec;
const container = pod?.containers[0];

describe('deploy/cache/gc-cronjob.yaml', () => {
  it('never starts a run while the previous one is still going, and keeps a short history', () => {
    expect(cronJob.spec).toMatchObject({ concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3, startingDeadlineSeconds: 600 });
    expect(cronJob.spec?.jobTemplate.spec?.backoffLimit).toBe(0);
    expect(pod?.restartPolicy).toBe('Never');
  });

  it("runs zfs-clone gc of every cache of its namespace with the runner image's Node 20 and the CLI the image ships", () => {
    expect(container?.image).toBe(runnerContainer(readValues()).image);
    expect(container?.command).toEqual(['/home/runner/externals/node20/bin/node', '/home/runner/k8s/zfs-clone.cjs']);
    const final = readStages(repoPath('Dockerfile.runner')).at(-1);
    expect(copiesOf(final as NonNullable<typeof final>).map((c) => c.destination)).toContain('/home/runner/k8s/zfs-clone.cjs');
    // No cache argument and no -n: every cache, in the pod's own namespace.
    expect(container?.args?.[0]).toBe('gc');
    expect(container?.args?.filter((a) => !a.startsWith('-') && !/^\d+$/.test(a))).toEqual(['gc']);
    expect(container?.args).not.toContain('-n');
    expect(container?.args).not.toContain('--dry-run');
  });

  it("keeps as many generations as the runner's gc after a promotion (ZFS_CLONE_KEEP_GENERATIONS)", () => {
    const args = container?.args ?? [];
    expect(args[args.indexOf('--keep') + 1]).toBe(runnerEnv(readValues()).get('ZFS_CLONE_KEEP_GENERATIONS'));
  });

  it('runs as its own ServiceAccount, bound to the Role of this file', () => {
    expect(pod?.serviceAccountName).toBe(serviceAccount.metadata?.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: serviceAccount.metadata?.name, namespace: serviceAccount.metadata?.namespace }]);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata?.name });
  });

  it('grants exactly what gc does: list the lineage and the heads, delete PVCs and snapshots; no write, no Secret', () => {
    expect([...permissions(role.rules ?? [])].sort()).toEqual([
      'core/configmaps:list',
      'core/persistentvolumeclaims:delete',
      'core/persistentvolumeclaims:list',
      'snapshot.storage.k8s.io/volumesnapshots:delete',
      'snapshot.storage.k8s.io/volumesnapshots:list',
    ]);
  });

  it('hardens the pod: non-root, no privilege escalation, no capabilities, read-only root file system', () => {
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container?.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  });
});
