import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { type KubeClient } from '@zfs-runner-hooks/kube';
import { createCacheSession, readHead, seed, silentLogger } from '@zfs-runner-hooks/zfs-clone';
import { createZfsCloneSuite, mainPush, type ZfsCloneSuite } from './suite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, waitFor, type TestNamespace } from '../../cluster/harness.js';

const snapshotApi = { group: 'snapshot.storage.k8s.io', version: 'v1' } as const;

// zfs-localpv refuses a clone whose size differs from its snapshot's; the hook asks for exactly the
// snapshot's status.restoreSize, so a mismatch means a snapshot whose restoreSize is wrong. The
// test makes one (status written as admin) and the host-path driver refuses the clone the way
// zfs-localpv does.
describe('a clone of a snapshot whose restoreSize is wrong', () => {
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const custom = admin.makeApiClient(CustomObjectsApi);
  let ns: TestNamespace;
  let kube: KubeClient;
  let s: ZfsCloneSuite;

  beforeAll(async () => {
    s = await createZfsCloneSuite('zs');
    ({ ns, kube } = s);
  });
  afterAll(async () => {
    await s?.close();
  });

  it("fails prepare fast with the driver's message and leaves no PVC or PV behind", async () => {
    await seed(kube, { namespace: ns.name, cache: 'conan', fromPvc: 'golden', timeoutSeconds: 60 });
    const snapshot = (await readHead(kube, ns.name, 'conan')).head.snapshot;
    const read = async () =>
      (await custom.getNamespacedCustomObject({ ...snapshotApi, plural: 'volumesnapshots', namespace: ns.name, name: snapshot })) as {
        status?: { restoreSize?: string; boundVolumeSnapshotContentName?: string };
      };
    const before = await read();
    expect(before.status?.restoreSize).toBe('10Mi');
    // Content and snapshot both claim 20Mi (so a resync of the snapshot controller keeps it);
    // read-modify-write again when the controllers changed the object meanwhile (409).
    const content = before.status?.boundVolumeSnapshotContentName ?? '';
    const contentRef = { ...snapshotApi, plural: 'volumesnapshotcontents', name: content };
    await waitFor(
      `20Mi restoreSize on ${content}`,
      async () => {
        const current = (await custom.getClusterCustomObject(contentRef)) as { status?: object };
        return custom.replaceClusterCustomObjectStatus({ ...contentRef, body: { ...current, status: { ...current.status, restoreSize: 20 * 1024 * 1024 } } });
      },
      () => true,
    );
    await waitFor(
      `20Mi restoreSize on ${snapshot}`,
      async () => {
        const current = await read();
        return custom.replaceNamespacedCustomObjectStatus({
          ...snapshotApi,
          plural: 'volumesnapshots',
          namespace: ns.name,
          name: snapshot,
          body: { ...current, status: { ...current.status, restoreSize: '20Mi' } },
        });
      },
      () => true,
    );
    expect((await read()).status?.restoreSize).toBe('20Mi');

    const runner = await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: 'runner' },
        spec: {
          nodeSelector: { type: 'kwok' },
          tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
          containers: [{ name: 'c', image: 'zrh.local/busybox:1', command: ['sleep', '3600'] }],
        },
      },
    });
    const session = createCacheSession({
      kube,
      namespace: ns.name,
      runnerPod: { name: 'runner', uid: runner.metadata?.uid ?? '' },
      runnerEnv: mainPush,
      logger: silentLogger,
    });
    const started = Date.now();
    await expect(session.prepare({ ZFS_CLONE_SOURCE: 'conan' })).rejects.toThrow(
      /cannot be provisioned: .*clone volume size is not matching: requested 20971520 bytes, snapshot .* has 10485760/,
    );
    const failedAfterMs = Date.now() - started;
    // Far below the clone wait's timeout: the first ProvisioningFailed event ends it.
    expect(failedAfterMs).toBeLessThan(15_000);

    const pvcs = async () => (await core.listNamespacedPersistentVolumeClaim({ namespace: ns.name })).items.map((p) => p.metadata?.name);
    await waitFor('only the seed PVC left', pvcs, (names) => names.join() === 'golden', { timeoutMs: 30_000 });
    const pvs = (await core.listPersistentVolume()).items.filter((pv) => pv.spec?.claimRef?.namespace === ns.name).map((pv) => pv.spec?.claimRef?.name);
    expect(pvs).toEqual(['golden']);
  });
});
