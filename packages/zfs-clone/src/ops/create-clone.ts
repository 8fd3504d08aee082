import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { isAlreadyExists, R, type KubeClient } from '@zfs-runner-hooks/kube';
import { type Owner, ownerReference, RUNNER_POD_LABEL } from '@zfs-runner-hooks/vocabulary';
import { buildClonePvc, type ClonePvcSpec } from '../build/clone-pvc.js';
import { ZfsCloneError } from '../errors.js';

/**
 * Creates a job's clone PVC. A retry after a crash finds its own PVC (same runner pod and
 * snapshot) and reuses it; a foreign PVC of that name is an error.
 */
export async function createClone(kube: KubeClient, spec: ClonePvcSpec): Promise<V1PersistentVolumeClaim> {
  const body = buildClonePvc(spec);
  const ref = { type: R.persistentVolumeClaims, namespace: spec.namespace };
  try {
    return await kube.create(ref, body);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    const existing = await kube.get<V1PersistentVolumeClaim>({ ...ref, name: spec.name });
    const ours = existing.metadata?.labels?.[RUNNER_POD_LABEL] === spec.runnerPod && existing.spec?.dataSource?.name === spec.snapshot;
    if (ours && !existing.metadata?.deletionTimestamp) return existing;
    if (ours) {
      throw new ZfsCloneError('CLONE_FAILED', `PVC "${spec.name}" in namespace "${spec.namespace}" is still being deleted.`, {
        hint: 'Retry once it is gone.',
        cause: error,
      });
    }
    throw new ZfsCloneError('CLONE_FAILED', `PVC "${spec.name}" already exists in namespace "${spec.namespace}" and is not this job's clone.`, {
      hint: 'Delete it or rename the runner pod.',
      cause: error,
    });
  }
}

/** Makes `owner` the only owner of the PVC (e.g. the job pod once it exists, or a snapshot). */
export async function reownClone(kube: KubeClient, namespace: string, pvc: string, owner: Owner): Promise<void> {
  await kube.patch({ type: R.persistentVolumeClaims, namespace, name: pvc }, { metadata: { ownerReferences: [ownerReference(owner)] } }, 'merge');
}
