import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, apiStatus, createTestNamespace, hostPathClaim, hostPathVolumeDir, waitFor, type TestNamespace } from '../../cluster/harness.js';
import { adminCoreApi, adminKubeClient, execText, IMAGES, realNodePod, waitForRunningPod } from './real-node.js';

const snapshotApi = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshots' } as const;

describe('real node: CSI volumes mounted into pods', () => {
  const core = adminCoreApi();
  const custom = adminKubeConfig().makeApiClient(CustomObjectsApi);
  let kube: KubeClient;
  let ns: TestNamespace;

  beforeAll(async () => {
    kube = await adminKubeClient();
    ns = await createTestNamespace('node-vol');
  });
  afterAll(async () => {
    kube?.close();
    await ns?.delete();
  });

  async function boundVolumeDir(name: string): Promise<string> {
    const bound = await waitFor(
      `PVC ${ns.name}/${name} to be Bound`,
      () => core.readNamespacedPersistentVolumeClaim({ name, namespace: ns.name }),
      (c) => c.status?.phase === 'Bound',
    );
    const pv = await core.readPersistentVolume({ name: bound.spec?.volumeName ?? '' });
    return hostPathVolumeDir(pv.spec?.csi?.volumeHandle ?? '');
  }

  function sh(pod: string, script: string) {
    return execText(kube, { namespace: ns.name, pod, container: 'job' }, ['sh', '-c', script]);
  }

  it('mounts a PVC restored from a snapshot with its data, writable by a non-root user through fsGroup', async () => {
    // A cache volume filled by root, as a cache-building job would leave it.
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns.name, body: hostPathClaim('cache') });
    const sourceDir = await boundVolumeDir('cache');
    await mkdir(join(sourceDir, 'conan'), { recursive: true });
    await writeFile(join(sourceDir, 'conan', 'package.txt'), 'built once\n', { mode: 0o644 });

    await custom.createNamespacedCustomObject({
      ...snapshotApi,
      namespace: ns.name,
      body: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'cache' },
        spec: { volumeSnapshotClassName: 'csi-hostpath-snapclass', source: { persistentVolumeClaimName: 'cache' } },
      },
    });
    await waitFor(
      'VolumeSnapshot cache to be readyToUse',
      () => custom.getNamespacedCustomObject({ ...snapshotApi, namespace: ns.name, name: 'cache' }),
      (s: { status?: { readyToUse?: boolean } }) => s.status?.readyToUse === true,
    );
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns.name,
      body: hostPathClaim('job-cache', { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'cache' }),
    });

    await core.createNamespacedPod({
      namespace: ns.name,
      body: realNodePod('job', {
        securityContext: { runAsUser: 1001, runAsGroup: 1001, fsGroup: 2000 },
        containers: [
          {
            name: 'job',
            image: IMAGES.debianNonRoot,
            command: ['tail', '-f', '/dev/null'],
            volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
          },
        ],
        volumes: [{ name: 'cache', persistentVolumeClaim: { claimName: 'job-cache' } }],
      }),
    });
    await waitForRunningPod(core, ns.name, 'job');

    expect(await sh('job', 'id -u; cat /cache/conan/package.txt')).toEqual({
      exitCode: 0,
      stdout: '1001\nbuilt once\n',
      stderr: '',
    });
    const write = await sh('job', 'echo changed by the job >> /cache/conan/package.txt && echo new > /cache/conan/new.txt && stat -c %g /cache/conan/new.txt');
    expect(write).toEqual({ exitCode: 0, stdout: '2000\n', stderr: '' });

    // The job wrote into its own copy; the snapshot's source volume is unchanged.
    const cloneDir = await boundVolumeDir('job-cache');
    expect(cloneDir).not.toBe(sourceDir);
    expect(await readFile(join(cloneDir, 'conan', 'package.txt'), 'utf8')).toBe('built once\nchanged by the job\n');
    expect(await readFile(join(sourceDir, 'conan', 'package.txt'), 'utf8')).toBe('built once\n');
  });

  it('removes a generic ephemeral PVC through the garbage collector when its pod is deleted', async () => {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: realNodePod('scratch', {
        containers: [
          {
            name: 'job',
            image: IMAGES.busybox,
            command: ['tail', '-f', '/dev/null'],
            volumeMounts: [{ name: 'work', mountPath: '/work' }],
          },
        ],
        volumes: [
          {
            name: 'work',
            ephemeral: {
              volumeClaimTemplate: {
                spec: {
                  accessModes: ['ReadWriteOnce'],
                  storageClassName: 'csi-hostpath',
                  resources: { requests: { storage: '10Mi' } },
                },
              },
            },
          },
        ],
      }),
    });
    const pod = await waitForRunningPod(core, ns.name, 'scratch');
    expect(await sh('scratch', 'echo data > /work/file && cat /work/file')).toEqual({
      exitCode: 0,
      stdout: 'data\n',
      stderr: '',
    });
    const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'scratch-work', namespace: ns.name });
    expect(pvc.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Pod', name: 'scratch', uid: pod.metadata?.uid });
    const pvName = pvc.spec?.volumeName ?? '';

    await core.deleteNamespacedPod({ name: 'scratch', namespace: ns.name });
    await waitFor(
      'the ephemeral PVC scratch-work to be garbage-collected',
      () =>
        core.readNamespacedPersistentVolumeClaim({ name: 'scratch-work', namespace: ns.name }).then(
          () => 'exists',
          (error: unknown) => (apiStatus(error) === 404 ? 'gone' : Promise.reject(error)),
        ),
      (state) => state === 'gone',
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    await waitFor(
      `its PersistentVolume ${pvName} to be deleted`,
      () =>
        core.readPersistentVolume({ name: pvName }).then(
          () => 'exists',
          (error: unknown) => (apiStatus(error) === 404 ? 'gone' : Promise.reject(error)),
        ),
      (state) => state === 'gone',
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  });
});
