import { isForbidden, isNotFound, type KubeClient, type ResourceType } from '@zfs-runner-hooks/kube';

/** `zfs.openebs.io/v1` ZFSPromote (newer zfs-localpv). */
export const ZFS_PROMOTES: ResourceType = { group: 'zfs.openebs.io', version: 'v1', plural: 'zfspromotes', namespaced: true };

export interface Capabilities {
  /** The driver offers `ZFSPromote` and this client may use it, so gc can make a clone independent of its origin. */
  readonly zfsPromote: boolean;
  /** Why a feature is off although the API may offer it (the client is not allowed to see it). */
  readonly note?: string;
}

/**
 * Detects optional driver features from the API, with no cluster-scoped permission: listing the
 * resource in `driverNamespace` answers 200 when it exists and 404 when the API has no such
 * resource (CRD absent). A 403 tells nothing: the API server authorizes a request before it
 * looks the resource up, so a client without `list` there is refused whether or not the CRD
 * exists; it could not request promotions either, so the feature is off, with a note.
 */
export async function detectCapabilities(kube: KubeClient, driverNamespace = 'openebs'): Promise<Capabilities> {
  try {
    await kube.list({ type: ZFS_PROMOTES, namespace: driverNamespace }, { limit: 1 });
    return { zfsPromote: true };
  } catch (error) {
    if (isNotFound(error)) return { zfsPromote: false };
    if (isForbidden(error)) {
      return {
        zfsPromote: false,
        note:
          `not allowed to list zfspromotes.zfs.openebs.io in namespace "${driverNamespace}", so gc requests no ZFSPromote ` +
          `(grant get, list and create on it there if the driver offers it)`,
      };
    }
    throw error;
  }
}
