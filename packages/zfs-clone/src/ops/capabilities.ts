import { isForbidden, isNotFound, type KubeClient, type ResourceType } from '@zfs-runner-hooks/kube';

/** `zfs.openebs.io/v1` ZFSPromote (newer zfs-localpv). */
export const ZFS_PROMOTES: ResourceType = { group: 'zfs.openebs.io', version: 'v1', plural: 'zfspromotes', namespaced: true };

export interface Capabilities {
  /** The driver offers `ZFSPromote`, so gc can make a clone independent of its origin. */
  readonly zfsPromote: boolean;
}

/**
 * Detects optional driver features from the API, with no cluster-scoped permission: listing the
 * resource in `driverNamespace` answers 404 when the API has no such resource (CRD absent) and
 * 200 or 403 when it exists.
 */
export async function detectCapabilities(kube: KubeClient, driverNamespace = 'openebs'): Promise<Capabilities> {
  try {
    await kube.list({ type: ZFS_PROMOTES, namespace: driverNamespace }, { limit: 1 });
    return { zfsPromote: true };
  } catch (error) {
    if (isForbidden(error)) return { zfsPromote: true };
    if (isNotFound(error)) return { zfsPromote: false };
    throw error;
  }
}
