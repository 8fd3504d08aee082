import type { V1OwnerReference } from '@kubernetes/client-node';

/** An object that can own another (same namespace). */
export interface Owner {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

/** A pod as an owner (the runner pod of the hook's objects, the job pod of a clone). */
export function podOwner(name: string, uid: string): Owner {
  return { apiVersion: 'v1', kind: 'Pod', name, uid };
}

/** An ownerReference that lets Kubernetes' garbage collector delete the object with its owner. */
export function ownerReference(owner: Owner): V1OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid };
}
