/**
 * The ZFS-LocalPV look-alike storage (test/cluster/csi-zfslike, StorageClass `zfs-like`) through
 * real Kubernetes objects on the real node: what a ZFS-LocalPV 2.6 user sees, and the driver's
 * state (state.json) behind it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, type V1PersistentVolumeClaim, type V1TypedLocalObjectReference } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, apiStatus, cluster, createTestNamespace, waitFor, type TestNamespace } from '../../cluster/harness.js';
import { adminCoreApi, IMAGES, realNodePod } from '../node/real-node.js';

const snapshotApi = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshots' } as const;
const contentApi = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshotcontents' } as const;
const SIZE = '16Mi';

interface DriverState {
  datasets: Record<string, { node: string; capacity: number; origin?: string; upper: string; lowers: string[] }>;
  snapshots: Record<string, { dataset: string; capacity: number; layers: string[] }>;
  pendingDestroys: string[];
}
type Snap = { status?: { readyToUse?: boolean; restoreSize?: string; boundVolumeSnapshotContentName?: string } };

function driverState(): DriverState {
  return JSON.parse(readFileSync(join(cluster().dir, 'csi-zfslike', 'state.json'), 'utf8')) as DriverState;
}

function claim(name: string, size = SIZE, dataSource?: V1TypedLocalObjectReference): V1PersistentVolumeClaim {
  return {
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'zfs-like', resources: { requests: { storage: size } }, ...(dataSource ? { dataSource } : {}) },
  };
}
const fromSnapshot = (name: string) => ({ apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name });

describe('zfs-like storage (ZFS-LocalPV rules) through Kubernetes objects', () => {
  const core = adminCoreApi();
  const custom = adminKubeConfig().makeApiClient(CustomObjectsApi);
  let ns: TestNamespace;

  beforeAll(async () => {
    // Starts only what is not running yet (up.sh does the same).
    execFileSync('bash', [fileURLToPath(new URL('../../cluster/csi-zfslike/start.sh', import.meta.url))], {
      env: { ...process.env, ZRH_CLUSTER_DIR: cluster().dir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    ns = await createTestNamespace('zfs-like');
  }, 120_000);
  afterAll(async () => {
    await ns?.delete();
  });

  async function boundVolume(name: string): Promise<string> {
    const c = await waitFor(
      `PVC ${name} Bound`,
      () => core.readNamespacedPersistentVolumeClaim({ name, namespace: ns.name }),
      (p) => p.status?.phase === 'Bound',
    );
    return c.spec?.volumeName ?? '';
  }

  async function snapshot(name: string, pvc: string): Promise<{ handle: string; restoreSize: string }> {
    await custom.createNamespacedCustomObject({
      ...snapshotApi,
      namespace: ns.name,
      body: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name },
        spec: { volumeSnapshotClassName: 'zfs-like-snapclass', source: { persistentVolumeClaimName: pvc } },
      },
    });
    const s = await waitFor(
      `VolumeSnapshot ${name} readyToUse`,
      () => custom.getNamespacedCustomObject({ ...snapshotApi, namespace: ns.name, name }) as Promise<Snap>,
      (v) => v.status?.readyToUse === true,
    );
    const content = (await custom.getClusterCustomObject({ ...contentApi, name: s.status?.boundVolumeSnapshotContentName ?? '' })) as {
      status?: { snapshotHandle?: string };
    };
    return { handle: content.status?.snapshotHandle ?? '', restoreSize: s.status?.restoreSize ?? '' };
  }

  /** Runs a one-shot pod on the real node with the PVC at /data and returns its log. */
  async function runPod(name: string, pvc: string, script: string): Promise<string> {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: realNodePod(name, {
        containers: [{ name: 'job', image: IMAGES.busybox, command: ['sh', '-c', script], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: pvc } }],
      }),
    });
    const pod = await waitFor(
      `pod ${name} to finish`,
      () => core.readNamespacedPod({ name, namespace: ns.name }),
      (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed',
      { timeoutMs: 120_000 },
    );
    const log = await core.readNamespacedPodLog({ name, namespace: ns.name });
    expect(pod.status?.phase, log).toBe('Succeeded');
    await core.deleteNamespacedPod({ name, namespace: ns.name, gracePeriodSeconds: 0 });
    await waitFor(
      `pod ${name} gone`,
      () =>
        core.readNamespacedPod({ name, namespace: ns.name }).then(
          () => 'present',
          (e: unknown) => (apiStatus(e) === 404 ? 'gone' : 'present'),
        ),
      (s) => s === 'gone',
      { timeoutMs: 120_000 },
    );
    return log;
  }

  async function eventsOf(name: string, namespace = ns.name): Promise<string> {
    const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
    return list.items.map((e) => `${e.reason}: ${e.message}`).join('\n');
  }

  async function deleteClaim(name: string): Promise<void> {
    await core.deleteNamespacedPersistentVolumeClaim({ name, namespace: ns.name });
  }

  let srcVolume = '';
  let s1 = { handle: '', restoreSize: '' };

  it('provisions on the node named by openebs.io/nodeid and pins the PV there', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns.name, body: claim('src') });
    srcVolume = await boundVolume('src');
    const pv = await core.readPersistentVolume({ name: srcVolume });
    const term = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0];
    expect(term).toMatchObject({ key: 'openebs.io/nodeid', operator: 'In', values: ['127.0.0.1'] });
    expect(driverState().datasets[srcVolume]).toMatchObject({ node: '127.0.0.1', capacity: 16 * 2 ** 20 });
  });

  it('snapshots in O(1), never changes the snapshot, and clones it without copying on the same node', async () => {
    expect(await runPod('write-1', 'src', 'echo 1 > /data/gen && mkdir -p /data/p && echo pkg > /data/p/a')).toBe('');
    s1 = await snapshot('s1', 'src');
    expect(s1.restoreSize).toBe(SIZE);
    expect(driverState().snapshots[s1.handle]?.dataset).toBe(srcVolume);
    await runPod('write-2', 'src', 'echo 2 > /data/gen');

    await core.createNamespacedPersistentVolumeClaim({ namespace: ns.name, body: claim('c1', SIZE, fromSnapshot('s1')) });
    const clone = await boundVolume('c1');
    const state = driverState();
    expect(state.datasets[clone]).toMatchObject({ origin: s1.handle, node: '127.0.0.1', lowers: state.snapshots[s1.handle]?.layers });
    expect(await runPod('read-c1', 'c1', 'cat /data/gen /data/p/a; echo 3 > /data/gen')).toBe('1\npkg\n');
    expect(await runPod('read-src', 'src', 'cat /data/gen')).toBe('2\n');
  });

  it('keeps a clone whose size differs from its snapshot Pending with "clone volume size is not matching"', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns.name, body: claim('c-big', '32Mi', fromSnapshot('s1')) });
    await waitFor(
      'ProvisioningFailed on c-big',
      () => eventsOf('c-big'),
      (e) => e.includes('clone volume size is not matching'),
    );
    const c = await core.readNamespacedPersistentVolumeClaim({ name: 'c-big', namespace: ns.name });
    expect(c.status?.phase).toBe('Pending');
    await deleteClaim('c-big');
  });

  it('does not start a pod that must run on another node than its clone', async () => {
    const body = realNodePod('elsewhere', {
      containers: [{ name: 'job', image: IMAGES.busybox, command: ['true'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'c1' } }],
      tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
    });
    if (body.spec) body.spec.nodeSelector = { 'kubernetes.io/hostname': 'kwok-node-0' };
    await core.createNamespacedPod({ namespace: ns.name, body });
    const events = await waitFor(
      'FailedScheduling of pod elsewhere',
      () => eventsOf('elsewhere'),
      (e) => e.includes('FailedScheduling'),
    );
    expect(events).toMatch(/node affinity/);
    expect((await core.readNamespacedPod({ name: 'elsewhere', namespace: ns.name })).status?.phase).toBe('Pending');
    await core.deleteNamespacedPod({ name: 'elsewhere', namespace: ns.name, gracePeriodSeconds: 0 });
  });

  it('refuses to delete a volume whose snapshot has a live clone until the clone is gone', async () => {
    await snapshot('s3', 'src');
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns.name, body: claim('c3', SIZE, fromSnapshot('s3')) });
    await boundVolume('c3');
    await deleteClaim('src');
    // Retried (the provisioner backs off exponentially) and refused every time.
    const failures = (e: string) => e.split('\n').filter((l) => l.startsWith('VolumeFailedDelete') && l.includes('dependent clones')).length;
    const events = await waitFor(
      'two VolumeFailedDelete on the source PV',
      () => core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${srcVolume}` }),
      (l) => l.items.filter((e) => e.reason === 'VolumeFailedDelete' && e.message?.includes('dependent clones')).reduce((n, e) => n + (e.count ?? 1), 0) >= 2,
      { timeoutMs: 90_000 },
    );
    expect(events.items.length).toBeGreaterThan(0);
    expect(failures(await eventsOf(srcVolume, 'default'))).toBeGreaterThan(0);
    expect(driverState().datasets[srcVolume]).toBeDefined();
    expect((await core.readPersistentVolume({ name: srcVolume })).status?.phase).not.toBe('Bound');
    // Once c3 is gone the provisioner's next retry (after its back-off, up to minutes) succeeds.
    await deleteClaim('c3');
  });

  it("destroys a volume's snapshots with it: the VolumeSnapshot stays readyToUse, a clone from it fails", async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns.name, body: claim('src2') });
    const volume = await boundVolume('src2');
    const s2 = await snapshot('s2', 'src2');
    await deleteClaim('src2');
    await waitFor(
      'src2 dataset and its snapshot destroyed',
      async () => driverState(),
      (s) => s.datasets[volume] === undefined && s.snapshots[s2.handle] === undefined,
    );
    const vs = (await custom.getNamespacedCustomObject({ ...snapshotApi, namespace: ns.name, name: 's2' })) as Snap;
    expect(vs.status?.readyToUse).toBe(true);

    await core.createNamespacedPersistentVolumeClaim({ namespace: ns.name, body: claim('c2', SIZE, fromSnapshot('s2')) });
    await waitFor(
      'ProvisioningFailed on c2',
      () => eventsOf('c2'),
      (e) => e.includes('dataset does not exist'),
    );
    expect((await core.readNamespacedPersistentVolumeClaim({ name: 'c2', namespace: ns.name })).status?.phase).toBe('Pending');
    await deleteClaim('c2');
  });
});
