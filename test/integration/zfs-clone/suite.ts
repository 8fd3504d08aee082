import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { createKubeClient, loadKubeConfigFile, type KubeClient } from '@zfs-runner-hooks/kube';
import { adminKubeConfig, createTestNamespace, hostPathVolumeDir, serviceAccountKubeConfig, waitFor, type TestNamespace } from '../../cluster/harness.js';
import { runCli } from '../../../packages/zfs-clone/src/cli/run.js';

/** The operator's Role for `zfs-clone` (namespaced PVCs, VolumeSnapshots, ConfigMaps). */
export const roleFile = fileURLToPath(new URL('./fixtures/zfs-clone-role.yaml', import.meta.url));
/** A trusted promoting job's hook environment: a push to main of acme/app, which the runner binds to cache conan. */
export const mainPush = {
  GITHUB_REF: 'refs/heads/main',
  GITHUB_EVENT_NAME: 'push',
  GITHUB_REPOSITORY: 'acme/app',
  ZFS_CLONE_CACHE_REPOSITORIES: 'conan=acme/app',
};

/** What every zfs-clone suite starts from. */
export interface ZfsCloneSuite {
  readonly ns: TestNamespace;
  /** The operator's least-privilege client (`roleFile`), as the CLI and the library run. */
  readonly kube: KubeClient;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  /** The host folder of a PVC's volume, once it is Bound. */
  volumeDir(pvc: string): Promise<string>;
  /** A stand-in runner or job pod (only its identity matters) on kwok's simulated nodes. */
  pod(name: string): Promise<{ name: string; uid: string }>;
  /** Runs the `zfs-clone` CLI in the suite's namespace with the operator's client. */
  cli(...argv: string[]): Promise<{ code: number; out: string; err: string }>;
  close(): Promise<void>;
}

/** Runs the `zfs-clone` CLI in-process in `namespace` with `client`; collects its output. */
export async function runZfsClone(namespace: string, client: KubeClient, argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) => ({ write: (s: string) => (append(s), true) }) as unknown as NodeJS.WritableStream;
  const code = await runCli(['-n', namespace, ...argv], {
    stdout: sink((s) => (out += s)) as never,
    stderr: sink((s) => (err += s)) as never,
    connect: async () => Object.create(client, { close: { value: () => undefined } }) as KubeClient,
  });
  return { code, out, err };
}

/** A namespace with the operator's ServiceAccount and a 10Mi `golden` PVC (the seed's volume). */
export async function createZfsCloneSuite(prefix: string): Promise<ZfsCloneSuite> {
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const custom = admin.makeApiClient(CustomObjectsApi);
  const ns = await createTestNamespace(prefix);
  const scratch = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const sa = await serviceAccountKubeConfig(ns.name, roleFile, 'zfs-clone');
  const file = join(scratch, 'kubeconfig');
  writeFileSync(file, sa.exportConfig());
  const kube = createKubeClient(await loadKubeConfigFile(file));
  await core.createNamespacedPersistentVolumeClaim({
    namespace: ns.name,
    body: {
      metadata: { name: 'golden' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'csi-hostpath', resources: { requests: { storage: '10Mi' } } },
    },
  });
  return {
    ns,
    kube,
    core,
    custom,
    async volumeDir(pvc) {
      const bound = await waitFor(
        `PVC ${pvc} Bound`,
        () => core.readNamespacedPersistentVolumeClaim({ name: pvc, namespace: ns.name }),
        (c) => c.status?.phase === 'Bound',
      );
      const pv = await core.readPersistentVolume({ name: bound.spec?.volumeName ?? '' });
      return hostPathVolumeDir(pv.spec?.csi?.volumeHandle ?? '');
    },
    async pod(name) {
      const created = await core.createNamespacedPod({
        namespace: ns.name,
        // Tolerating kwok's taint: the cluster may also run a real node, which these need not use.
        body: {
          metadata: { name },
          spec: {
            nodeSelector: { type: 'kwok' },
            tolerations: [{ key: 'kwok.x-k8s.io/node', operator: 'Exists', effect: 'NoSchedule' }],
            containers: [{ name: 'c', image: 'zrh.local/busybox:1', command: ['sleep', '3600'] }],
          },
        },
      });
      return { name, uid: created.metadata?.uid ?? '' };
    },
    cli: (...argv) => runZfsClone(ns.name, kube, argv),
    async close() {
      kube.close();
      rmSync(scratch, { recursive: true, force: true });
      await ns.delete();
    },
  };
}
