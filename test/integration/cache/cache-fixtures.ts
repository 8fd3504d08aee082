/**
 * Shared set-up of the cache suites that run the real hook bundle through the runner simulator:
 * a namespace, the hook's identity from deploy/rbac/hook-role.yaml, an operator's identity for the
 * `zfs-clone` CLI, a cache seeded with the CLI from a PVC whose folder holds a file, and runners on
 * the real node (so the clone PVC is really mounted at /CONAN_HOME in the job container).
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1PersistentVolume } from '@kubernetes/client-node';
import { createKubeClient, loadKubeConfigFile, type KubeClient } from '@zfs-runner-hooks/kube';
import { readHead, type VolumeSnapshot } from '@zfs-runner-hooks/zfs-clone';
import { runZfsClone } from '../zfs-clone/suite.js';
import { adminKubeConfig, createTestNamespace, hostPathVolumeDir, serviceAccountKubeConfig, waitFor, type TestNamespace } from '../../cluster/harness.js';
import { hookRole } from '../../cluster/hook-role.js';
import { DEFAULT_HOOK_PATH } from '../../simulator/runner.js';
import type { JobFacts } from '../../simulator/step-env.js';
import { startRunnerSimulator, type StartedRunner } from '../../simulator/start.js';
import type { WorkflowContainer } from '../../simulator/stdin.js';

export const HOOK_ROLE = fileURLToPath(new URL('../../../deploy/rbac/hook-role.yaml', import.meta.url));
/** What an operator running `zfs-clone` needs (`seed` creates a head ConfigMap; the hook never does). */
export const OPERATOR_ROLE = fileURLToPath(new URL('../zfs-clone/fixtures/zfs-clone-role.yaml', import.meta.url));
export const DEBIAN = 'zrh.local/debian:12-1';
export const DEBIAN_NONROOT = 'zrh.local/debian-nonroot:12-1';
/** The file the seed PVC holds, relative to the cache root. */
export const SEED_FILE = 'p/zlib.txt';
export const SEED_TEXT = 'zlib/1.3 from the seed\n';
export const SNAPSHOTS = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshots' } as const;

/** A namespace with a seeded cache and everything needed to run jobs against it. */
export interface CacheWorld {
  readonly ns: TestNamespace;
  readonly admin: KubeConfig;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  /** The project's client with the hook's identity (what checks use). */
  readonly kube: KubeClient;
  readonly hookKubeconfig: string;
  /** Runs the `zfs-clone` CLI in the namespace with an operator's identity ({@link OPERATOR_ROLE}). */
  cli(...argv: string[]): Promise<{ code: number; out: string; err: string }>;
  /** The head of cache `cache`. */
  head(cache?: string): Promise<{ generation: number; snapshot: string }>;
  /** Starts a runner on the real node whose hook processes get `runnerEnv` and `facts`. */
  runner(options?: { runnerEnv?: Record<string, string>; facts?: Partial<JobFacts> }): Promise<StartedRunner>;
  /** Names of PVCs (other than the seed and runners' work claims), snapshots and pods of the namespace. */
  objects(): Promise<{ pvcs: string[]; snapshots: string[]; pods: string[] }>;
  /** Host folder of a bound PVC's volume. */
  volumeDir(pvc: string): Promise<string>;
  dispose(): Promise<void>;
}

/** Host folder of a host-path CSI PersistentVolume. */
export function volumeDirOf(pv: V1PersistentVolume): string {
  return hostPathVolumeDir(pv.spec?.csi?.volumeHandle ?? '');
}

/** The repository the runner simulator's jobs come from unless a test says otherwise. */
export const REPOSITORY = 'octo-org/hello';

/**
 * Creates the namespace, the hook identity, PVC `golden` holding {@link SEED_FILE}, and cache
 * `cache` seeded from it, recording `seed.repositories` (default {@link REPOSITORY}) as the
 * repositories whose jobs may promote it. The hook's Role may update the heads of `promotable` only.
 */
export async function createCacheWorld(
  prefix: string,
  cache = 'conan',
  promotable: readonly string[] = [cache],
  seed: { readonly repositories?: readonly string[] } = {},
): Promise<CacheWorld> {
  if (!existsSync(DEFAULT_HOOK_PATH)) throw new Error(`the hook bundle ${DEFAULT_HOOK_PATH} is missing: build it with \`pnpm --filter @zfs-runner-hooks/k8s-hook build\``);
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const custom = admin.makeApiClient(CustomObjectsApi);
  const ns = await createTestNamespace(prefix);
  const runners: StartedRunner[] = [];
  const scratch = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const hookKubeconfig = join(scratch, 'hook.kubeconfig');
  writeFileSync(hookKubeconfig, (await serviceAccountKubeConfig(ns.name, hookRole(ns.name, promotable), 'hook')).exportConfig(), { mode: 0o644 });
  const kube = createKubeClient(await loadKubeConfigFile(hookKubeconfig));
  const operatorKubeconfig = join(scratch, 'operator.kubeconfig');
  writeFileSync(operatorKubeconfig, (await serviceAccountKubeConfig(ns.name, OPERATOR_ROLE, 'operator')).exportConfig(), { mode: 0o644 });
  const operator = createKubeClient(await loadKubeConfigFile(operatorKubeconfig));

  const volumeDir = async (pvc: string) => {
    const bound = await waitFor(`PVC ${pvc} Bound`, () => core.readNamespacedPersistentVolumeClaim({ name: pvc, namespace: ns.name }), (c) => c.status?.phase === 'Bound');
    return volumeDirOf(await core.readPersistentVolume({ name: bound.spec?.volumeName ?? '' }));
  };
  const cli = (...argv: string[]) => runZfsClone(ns.name, operator, argv);

  await core.createNamespacedPersistentVolumeClaim({
    namespace: ns.name,
    body: { metadata: { name: 'golden' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'csi-hostpath', resources: { requests: { storage: '10Mi' } } } },
  });
  const golden = await volumeDir('golden');
  mkdirSync(join(golden, 'p'), { recursive: true });
  writeFileSync(join(golden, SEED_FILE), SEED_TEXT);
  const seeded = await cli('seed', cache, '--from-pvc', 'golden', ...(seed.repositories ?? [REPOSITORY]).flatMap((r) => ['--repository', r]));
  if (seeded.code !== 0) throw new Error(`zfs-clone seed failed (${seeded.code}): ${seeded.err}`);

  return {
    ns,
    admin,
    core,
    custom,
    kube,
    hookKubeconfig,
    cli,
    volumeDir,
    async head(name = cache) {
      const { head } = await readHead(kube, ns.name, name);
      return { generation: head.generation, snapshot: head.snapshot };
    },
    async runner(options = {}) {
      const started = await startRunnerSimulator({
        admin,
        hookKubeConfig: hookKubeconfig,
        namespace: ns.name,
        mode: 'volume',
        placement: 'real',
        volumeDir: volumeDirOf,
        runnerEnv: { ZRH_LOG_LEVEL: 'debug', ...options.runnerEnv },
        ...(options.facts ? { facts: options.facts } : {}),
      });
      runners.push(started);
      return started;
    },
    async objects() {
      const [pvcs, snaps, pods] = await Promise.all([
        core.listNamespacedPersistentVolumeClaim({ namespace: ns.name }),
        custom.listNamespacedCustomObject({ ...SNAPSHOTS, namespace: ns.name }) as Promise<{ items: VolumeSnapshot[] }>,
        core.listNamespacedPod({ namespace: ns.name }),
      ]);
      const alive = <T extends { metadata?: { deletionTimestamp?: unknown } }>(o: T) => !o.metadata?.deletionTimestamp;
      return {
        pvcs: pvcs.items.filter(alive).map((p) => p.metadata?.name ?? '').filter((n) => n !== 'golden' && !n.endsWith('-work')).sort(),
        snapshots: snaps.items.filter((s) => !(s.metadata as { deletionTimestamp?: unknown } | undefined)?.deletionTimestamp).map((s) => s.metadata?.name ?? '').sort(),
        pods: pods.items.filter(alive).map((p) => p.metadata?.name ?? '').sort(),
      };
    },
    async dispose() {
      await Promise.allSettled(runners.map((r) => r.dispose()));
      kube.close();
      operator.close();
      await ns.delete();
    },
  };
}

/** The job container of a workflow that uses the cache. */
export function jobContainer(env: Record<string, string>, image = DEBIAN): WorkflowContainer {
  return { image, env };
}

/** Everything a hook call printed. */
export function output(call: { stdout: string; stderr: string }): string {
  return `${call.stdout}\n${call.stderr}`;
}
