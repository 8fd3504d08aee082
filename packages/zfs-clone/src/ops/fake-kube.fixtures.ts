import type { FakeObject as Obj, Reactor } from '@zfs-runner-hooks/kube/testing';

/** The shared in-memory `KubeClient` of the unit tests (see `@zfs-runner-hooks/kube/testing`). */
export { FakeKubeClient as FakeKube, apiError, type Reactor } from '@zfs-runner-hooks/kube/testing';

/** Reactor: PVCs bind right away (Immediate binding) unless `fail` returns a warning message. */
export function bindPvcs(fail?: (pvc: Obj) => string | undefined): Reactor {
  return (plural, object, fake) => {
    if (plural !== 'persistentvolumeclaims' || (object as { status?: { phase?: string } }).status?.phase) return;
    const message = fail?.(object);
    queueMicrotask(() => {
      if (message) {
        fake.put(
          'events',
          {
            metadata: { name: `${object.metadata?.name}.1`, namespace: object.metadata?.namespace },
            involvedObject: { kind: 'PersistentVolumeClaim', name: object.metadata?.name },
            type: 'Warning',
            reason: 'ProvisioningFailed',
            message,
          },
          'ADDED',
        );
        return;
      }
      const current = fake.store.get(`persistentvolumeclaims/${object.metadata?.namespace}/${object.metadata?.name}`);
      if (current)
        fake.put('persistentvolumeclaims', {
          ...current,
          spec: { ...(current.spec as object), volumeName: `pv-${object.metadata?.name}` },
          status: { phase: 'Bound' },
        });
    });
  };
}

/** Reactor: new VolumeSnapshots become ready with `size` (or report `error`). */
export function readySnapshots(size = '1Gi', error?: string): Reactor {
  return (plural, object, fake) => {
    if (plural !== 'volumesnapshots' || (object as { status?: unknown }).status) return;
    queueMicrotask(() => {
      const current = fake.store.get(`volumesnapshots/${object.metadata?.namespace}/${object.metadata?.name}`);
      if (!current) return;
      fake.put('volumesnapshots', {
        ...current,
        status: error ? { readyToUse: false, error: { message: error } } : { readyToUse: true, restoreSize: size, creationTime: new Date().toISOString() },
      });
    });
  };
}
