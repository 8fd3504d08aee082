import { R, type KubeClient, type ResourceType } from '@zfs-runner-hooks/kube';
import type { Manifest } from '../../unit/deploy/deploy-files.js';

const rbac = (plural: string): ResourceType => ({ group: 'rbac.authorization.k8s.io', version: 'v1', plural, namespaced: false });

/** The kinds the deploy kit ships, by `apiVersion/kind`. */
const TYPES: Readonly<Record<string, ResourceType>> = {
  'v1/ServiceAccount': R.serviceAccounts,
  'v1/ConfigMap': R.configMaps,
  'v1/PersistentVolumeClaim': R.persistentVolumeClaims,
  'v1/Pod': R.pods,
  'batch/v1/CronJob': { group: 'batch', version: 'v1', plural: 'cronjobs', namespaced: true },
  'rbac.authorization.k8s.io/v1/Role': R.roles,
  'rbac.authorization.k8s.io/v1/RoleBinding': R.roleBindings,
  'rbac.authorization.k8s.io/v1/ClusterRole': rbac('clusterroles'),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': rbac('clusterrolebindings'),
  'storage.k8s.io/v1/StorageClass': R.storageClasses,
  'snapshot.storage.k8s.io/v1/VolumeSnapshot': R.volumeSnapshots,
  'snapshot.storage.k8s.io/v1/VolumeSnapshotClass': R.volumeSnapshotClasses,
};

/** The REST resource type of a manifest; throws for a kind the kit does not know yet. */
export function typeOf(object: Manifest): ResourceType {
  const type = TYPES[`${object.apiVersion}/${object.kind}`];
  if (!type) {
    throw new Error(`no resource type for ${object.apiVersion} ${object.kind}: add it to test/integration/deploy/dry-run.ts`);
  }
  return type;
}

/**
 * Moves a namespaced manifest into `namespace` (also the namespace of ServiceAccount subjects of
 * a RoleBinding, which must match the ServiceAccount's); cluster-scoped ones are returned as they
 * are. Returns a new object.
 */
export function inNamespace(object: Manifest, namespace: string): Manifest {
  if (!typeOf(object).namespaced) return object;
  const moved = structuredClone(object) as Manifest & { subjects?: { kind: string; namespace?: string }[] };
  (moved.metadata as { namespace?: string }).namespace = namespace;
  for (const subject of moved.subjects ?? []) {
    if (subject.kind === 'ServiceAccount') subject.namespace = namespace;
  }
  return moved;
}

/**
 * Server-side applies `object` with `dryRun=All` and `fieldValidation=Strict`: the API server runs
 * defaulting, validation and admission and rejects unknown or duplicate fields, but stores nothing.
 * Resolves with the object the server would have stored.
 */
export function dryRunApply(client: KubeClient, object: Manifest): Promise<Manifest> {
  const type = typeOf(object);
  return client.patch<Manifest>({ type, namespace: type.namespaced ? object.metadata.namespace : undefined, name: object.metadata.name }, object, 'apply', {
    dryRun: 'All',
    fieldValidation: 'Strict',
    fieldManager: 'zfs-runner-hooks-deploy-test',
    force: true,
  });
}
