import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, createTestNamespace, hostPathClaim, hostPathVolumeDir, waitFor, type TestNamespace } from '../../cluster/harness.js';

const snapshotApi = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshots' } as const;

interface VolumeSnapshotStatus {
  readyToUse?: boolean;
  restoreSize?: string;
  boundVolumeSnapshotContentName?: string;
  error?: { message?: string };
}

describe('local cluster: host-path CSI volumes and VolumeSnapshots', () => {
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  let ns: TestNamespace;

  beforeAll(async () => {
    ns = await createTestNamespace('snap');
  });
  afterAll(async () => {
    await ns?.delete();
  });

  /** Creates a PVC, waits until it is Bound and returns the host folder of its volume. */
  async function boundVolumeDir(claim: V1PersistentVolumeClaim): Promise<string> {
    const name = claim.metadata?.name ?? '';
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns.name, body: claim });
    const bound = await waitFor(
      `PVC ${ns.name}/${name} to be Bound`,
      () => core.readNamespacedPersistentVolumeClaim({ name, namespace: ns.name }),
      (c) => c.status?.phase === 'Bound',
    );
    const pv = await core.readPersistentVolume({ name: bound.spec?.volumeName ?? '' });
    expect(pv.spec?.csi?.driver).toBe('hostpath.csi.k8s.io');
    return hostPathVolumeDir(pv.spec?.csi?.volumeHandle ?? '');
  }

  async function readySnapshot(name: string, claimName: string): Promise<VolumeSnapshotStatus> {
    await custom.createNamespacedCustomObject({
      ...snapshotApi,
      namespace: ns.name,
      body: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name },
        spec: { volumeSnapshotClassName: 'csi-hostpath-snapclass', source: { persistentVolumeClaimName: claimName } },
      },
    });
    const snapshot = (await waitFor(
      `VolumeSnapshot ${ns.name}/${name} to be readyToUse`,
      () => custom.getNamespacedCustomObject({ ...snapshotApi, namespace: ns.name, name }),
      (s: { status?: VolumeSnapshotStatus }) => s.status?.readyToUse === true,
    )) as { status: VolumeSnapshotStatus };
    return snapshot.status;
  }

  it('provisions a PVC whose volume is a folder on this machine', async () => {
    const dir = await boundVolumeDir(hostPathClaim('plain'));
    await writeFile(join(dir, 'probe.txt'), 'hello');
    expect(await readFile(join(dir, 'probe.txt'), 'utf8')).toBe('hello');
  });

  it('restores a VolumeSnapshot into a new PVC with the data as it was when the snapshot was taken', async () => {
    const sourceDir = await boundVolumeDir(hostPathClaim('source'));
    await mkdir(join(sourceDir, 'p', 'pkg'), { recursive: true });
    await writeFile(join(sourceDir, 'p', 'pkg', 'conanfile.txt'), 'version 1\n');

    const status = await readySnapshot('source-snap', 'source');
    expect(status.boundVolumeSnapshotContentName).toMatch(/^snapcontent-/);
    expect(status.restoreSize).toBeTruthy();

    // Changed after the snapshot: the restored volume must not see this.
    await writeFile(join(sourceDir, 'p', 'pkg', 'conanfile.txt'), 'version 2\n');

    const restoredDir = await boundVolumeDir(hostPathClaim('restored', { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'source-snap' }));
    expect(restoredDir).not.toBe(sourceDir);
    expect(await readFile(join(restoredDir, 'p', 'pkg', 'conanfile.txt'), 'utf8')).toBe('version 1\n');
  });

  it('clones a PVC (dataSource kind PersistentVolumeClaim) with a copy of its data', async () => {
    const sourceDir = await boundVolumeDir(hostPathClaim('clone-source'));
    await writeFile(join(sourceDir, 'cache.db'), 'cached');
    const cloneDir = await boundVolumeDir(hostPathClaim('clone', { apiGroup: '', kind: 'PersistentVolumeClaim', name: 'clone-source' }));
    expect(await readFile(join(cloneDir, 'cache.db'), 'utf8')).toBe('cached');
    await writeFile(join(cloneDir, 'cache.db'), 'changed in clone');
    expect(await readFile(join(sourceDir, 'cache.db'), 'utf8')).toBe('cached');
  });
});
