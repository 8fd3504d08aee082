import type { ResourceType } from './types.js';

const core = (plural: string, namespaced = true): ResourceType => ({ group: '', version: 'v1', plural, namespaced });

/** The resource types this project touches. */
export const R = {
  pods: core('pods'),
  secrets: core('secrets'),
  configMaps: core('configmaps'),
  events: core('events'),
  persistentVolumeClaims: core('persistentvolumeclaims'),
  persistentVolumes: core('persistentvolumes', false),
  namespaces: core('namespaces', false),
  nodes: core('nodes', false),
  serviceAccounts: core('serviceaccounts'),
  roles: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', namespaced: true },
  roleBindings: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings', namespaced: true },
  storageClasses: { group: 'storage.k8s.io', version: 'v1', plural: 'storageclasses', namespaced: false },
  volumeSnapshots: { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshots', namespaced: true },
  volumeSnapshotContents: {
    group: 'snapshot.storage.k8s.io',
    version: 'v1',
    plural: 'volumesnapshotcontents',
    namespaced: false,
  },
  volumeSnapshotClasses: {
    group: 'snapshot.storage.k8s.io',
    version: 'v1',
    plural: 'volumesnapshotclasses',
    namespaced: false,
  },
  customResourceDefinitions: {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    namespaced: false,
  },
} as const satisfies Record<string, ResourceType>;
