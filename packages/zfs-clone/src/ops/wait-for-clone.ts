import type { CoreV1Event, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { R, watchUntil, type KubeClient } from '@zfs-runner-hooks/kube';
import { ZfsCloneError } from '../errors.js';

export interface WaitForCloneOptions {
  readonly namespace: string;
  readonly pvc: string;
  readonly timeoutSeconds: number;
  /** Called when the PVC's state changes (`Pending`, `Bound`, or an event reason). */
  readonly onProgress?: (state: string) => void;
  readonly signal?: AbortSignal;
}

/** How a clone wait ended. `waiting-for-consumer`: the class binds when the pod is scheduled. */
export type CloneReadiness = 'bound' | 'waiting-for-consumer';

/**
 * Waits until the clone PVC is Bound (or its class waits for the first consumer), watching the
 * PVC and its events; a `ProvisioningFailed` warning (e.g. zfs-localpv's "clone volume size is not
 * matching", a wrong pool) fails at once with the driver's message.
 */
export async function waitForClone(kube: KubeClient, options: WaitForCloneOptions): Promise<CloneReadiness> {
  const { namespace, pvc } = options;
  const abort = new AbortController();
  const stop = () => abort.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  let lastPhase = 'Pending';
  const gone = () => new ZfsCloneError('CLONE_FAILED', `Clone PVC "${pvc}" was deleted while waiting for it.`);
  try {
    // A stream that ends or breaks is watched again (`watchUntil`): only Bound, a deletion, a
    // lasting provisioning failure, the deadline or the caller end the wait.
    const bound = watchUntil<V1PersistentVolumeClaim, CloneReadiness>(
      kube,
      { type: R.persistentVolumeClaims, namespace, name: pvc },
      {
        onEvent: ({ type, object }) => {
          if (type === 'DELETED') throw gone();
          const phase = object.status?.phase ?? 'Pending';
          if (phase !== lastPhase) options.onProgress?.(phase);
          lastPhase = phase;
          return phase === 'Bound' ? 'bound' : undefined;
        },
        onListed: (objects) => {
          if (objects.length === 0) throw gone();
          return undefined;
        },
        timeoutMs: options.timeoutSeconds * 1000,
        onDeadline: () =>
          new ZfsCloneError('TIMEOUT', `Clone PVC "${pvc}" in namespace "${namespace}" is still ${lastPhase} after ${options.timeoutSeconds}s.`, {
            hint: 'Check the storage driver (kubectl describe pvc) or raise ZFS_CLONE_TIMEOUT_SECONDS.',
          }),
        signal: abort.signal,
        onAbort: () => new ZfsCloneError('CLONE_FAILED', `Stopped waiting for clone PVC "${pvc}" in namespace "${namespace}".`),
      },
    );
    const events = watchCloneEvents(kube, namespace, pvc, abort.signal, options.onProgress);
    return await Promise.race([bound, events]);
  } finally {
    abort.abort();
    options.signal?.removeEventListener('abort', stop);
  }
}

/**
 * Messages of `ProvisioningFailed` events that the provisioner retries by itself and that go away:
 * optimistic-concurrency conflicts (it adds a finalizer to the source snapshot, which concurrent
 * clones of the same snapshot also modify), API timeouts and throttling.
 */
const TRANSIENT_FAILURES: readonly RegExp[] = [
  /the object has been modified; please apply your changes to the latest version/i,
  /\bcontext deadline exceeded\b/i,
  /\betcdserver: request timed out\b/i,
  /\bthe server is currently unable to handle the request\b/i,
  /\btoo many requests\b/i,
];

/** Whether a `ProvisioningFailed` message is one the provisioner recovers from by retrying. */
export function isTransientProvisioningFailure(message: string | undefined): boolean {
  return message !== undefined && TRANSIENT_FAILURES.some((re) => re.test(message));
}

/**
 * Watches a clone PVC's events; rejects on a lasting `ProvisioningFailed` with the driver's message,
 * resolves `waiting-for-consumer` on `WaitForFirstConsumer` (unless told to keep watching), and
 * otherwise runs until `signal`.
 * The hook can race it against its own pod wait to surface provisioning problems fast.
 */
export async function watchCloneEvents(
  kube: KubeClient,
  namespace: string,
  pvc: string,
  signal: AbortSignal,
  onProgress?: (state: string) => void,
  stopWhenWaitingForConsumer = true,
): Promise<CloneReadiness> {
  try {
    return await watchUntil<CoreV1Event, CloneReadiness>(
      kube,
      { type: R.events, namespace },
      {
        fieldSelector: `involvedObject.kind=PersistentVolumeClaim,involvedObject.name=${pvc}`,
        onEvent: ({ type, object: e }) => {
          if (type === 'DELETED') return undefined;
          if (e.reason === 'ProvisioningFailed' && e.type === 'Warning') {
            if (isTransientProvisioningFailure(e.message)) {
              onProgress?.(`ProvisioningFailed (retried by the provisioner): ${e.message ?? ''}`);
              return undefined;
            }
            throw new ZfsCloneError(
              'CLONE_FAILED',
              `Clone PVC "${pvc}" in namespace "${namespace}" cannot be provisioned: ${e.message ?? 'ProvisioningFailed'}.`,
              {
                hint: "Under zfs-localpv the clone must request exactly the snapshot size and use a StorageClass on the snapshot's pool; check ZFS_CLONE_STORAGE_CLASS.",
              },
            );
          }
          if (e.reason) onProgress?.(e.reason);
          return stopWhenWaitingForConsumer && e.reason === 'WaitForFirstConsumer' ? 'waiting-for-consumer' : undefined;
        },
        signal,
      },
    );
  } catch (error) {
    // Stopped by the caller: nothing to report, and nothing ever resolves.
    if (signal.aborted) return new Promise<never>(() => undefined);
    throw error;
  }
}
