import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { deployManifests } from './deploy-files.js';

const docs = deployManifests();
const CLUSTER_SCOPED = new Set(['StorageClass', 'VolumeSnapshotClass', 'ClusterRole', 'ClusterRoleBinding', 'Namespace']);
const NAMESPACE = 'arc-runners';

function find(kind: string, name: string | undefined) {
  return docs.find((d) => d.object.kind === kind && d.object.metadata.name === name)?.object;
}

describe('deploy/ manifests', () => {
  it('finds the manifests of every part of the kit', () => {
    const kinds = new Set(docs.map((d) => d.object.kind));
    for (const kind of ['ServiceAccount', 'RoleBinding', 'StorageClass', 'VolumeSnapshotClass', 'ConfigMap']) {
      expect(kinds).toContain(kind);
    }
  });

  it.each(docs.map((d) => [`${d.file}#${d.index}`, d.object] as const))('%s lives in the runners namespace (or is cluster-scoped)', (_where, object) => {
    if (CLUSTER_SCOPED.has(object.kind)) expect(object.metadata.namespace).toBeUndefined();
    else expect(object.metadata.namespace).toBe(NAMESPACE);
  });

  it('binds the Role to the ServiceAccount shipped next to it', () => {
    const binding = find('RoleBinding', 'zfs-runner-hooks') as
      | { roleRef?: { kind?: string; name?: string }; subjects?: { kind: string; name: string; namespace?: string }[] }
      | undefined;
    expect(binding).toBeDefined();
    for (const subject of binding?.subjects ?? []) {
      expect(subject.kind).toBe('ServiceAccount');
      expect(find('ServiceAccount', subject.name)?.metadata.namespace).toBe(subject.namespace);
    }
    expect(binding?.roleRef?.kind).toBe('Role');
    expect(find('Role', binding?.roleRef?.name), `Role "${String(binding?.roleRef?.name)}" is not in deploy/rbac`).toBeDefined();
  });

  it('ships a hook template whose content is a pod template merging into the job container', () => {
    const configMap = find('ConfigMap', 'zfs-runner-hooks-job-template') as { data?: Record<string, string> } | undefined;
    const template = parse(configMap?.data?.['content'] ?? '', { uniqueKeys: true }) as {
      spec?: { containers?: { name?: string }[] };
    };
    expect(template.spec?.containers?.map((c) => c.name)).toContain('$job');
  });

  it('seeds the first cache on the thin-provisioned ZFS dataset class', () => {
    const pvc = find('PersistentVolumeClaim', 'gcc12-main-seed') as
      | { spec?: { storageClassName?: string; resources?: { requests?: { storage?: string } } } }
      | undefined;
    const storageClass = find('StorageClass', pvc?.spec?.storageClassName) as { provisioner?: string; parameters?: Record<string, string> } | undefined;
    expect(storageClass?.provisioner).toBe('zfs.csi.openebs.io');
    expect(storageClass?.parameters?.['fstype']).toBe('zfs');
    expect(storageClass?.parameters?.['thinprovision']).toBe('yes');
    expect(pvc?.spec?.resources?.requests?.storage).toMatch(/^\d+Gi$/);
  });
});
