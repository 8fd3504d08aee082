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
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type KubeConfig,
  type V1ObjectMeta,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1Secret,
} from '@kubernetes/client-node';
import { createKubeClient, loadKubeConfigFile, type KubeClient } from '@zfs-runner-hooks/kube';
import { readHead, type VolumeSnapshot } from '@zfs-runner-hooks/zfs-clone';
import { runZfsClone } from '../zfs-clone/suite.js';
import {
  adminKubeConfig,
  createTestNamespace,
  csiVolumeDir,
  serviceAccountKubeConfig,
  waitFor,
  ZFS_LIKE_CLASS,
  type TestNamespace,
} from '../../cluster/harness.js';
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
  /**
   * Starts a runner on the real node whose hook processes get `runnerEnv` and `facts`; `onOutput`
   * sees their output as it arrives (e.g. `HookLines.onOutput`), `hookPriority` is their nice value.
   */
  runner(options?: {
    runnerEnv?: Record<string, string>;
    facts?: Partial<JobFacts>;
    onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
    hookPriority?: number;
  }): Promise<StartedRunner>;
  /** Seeds one more cache `cache` from PVC `golden`, promotable by {@link REPOSITORY}. */
  seed(cache: string): Promise<void>;
  /** The head of cache `cache` with its history (newest first). */
  headWithHistory(cache: string): Promise<{ generation: number; snapshot: string; history: readonly { generation: number; snapshot: string }[] }>;
  /**
   * Watches `resource` in the namespace as the admin and calls `onObject` synchronously with
   * every event (the objects that exist when it starts come first, as ADDED); resolves once the
   * watch is established.
   */
  watch<T extends Watched>(
    resource: WatchedResource,
    labelSelector: string | undefined,
    onObject: (type: string, object: T) => void,
  ): Promise<{ stop(): void }>;
  /** What runner pod `runnerPod` and cache `cache` have in the namespace right now (admin view). */
  inventory(runnerPod: string, cache: string): Promise<Inventory>;
  /**
   * Lets the keep times of cache `cache` run out: every snapshot and PVC of it with a
   * `zrh.dev/expires-at` gets one in the past, as if that time had passed.
   */
  expireKept(cache: string): Promise<string[]>;
  /** Names of PVCs (other than the seed and runners' work claims), snapshots and pods of the namespace. */
  objects(): Promise<{ pvcs: string[]; snapshots: string[]; pods: string[] }>;
  /** Host folder of a bound PVC's volume. */
  volumeDir(pvc: string): Promise<string>;
  dispose(): Promise<void>;
}

/** Resources `CacheWorld.watch` can watch. */
export type WatchedResource = 'pods' | 'secrets' | 'persistentvolumeclaims' | 'configmaps' | 'volumesnapshots';
/** Anything with object metadata. */
export interface Watched {
  readonly metadata?: V1ObjectMeta;
}

/** An owner reference, as `Kind/name`. */
export type OwnerText = string;

/** The objects of one runner pod and one cache, as a user would list them. */
export interface Inventory {
  /** Pods labelled `runner-pod=<runner>` (job and step pods). */
  readonly pods: readonly { readonly name: string; readonly role: string | undefined; readonly deleting: boolean; readonly owners: readonly OwnerText[] }[];
  /** Secrets labelled `runner-pod=<runner>` (registry and step env secrets). */
  readonly secrets: readonly { readonly name: string; readonly role: string | undefined; readonly deleting: boolean; readonly owners: readonly OwnerText[] }[];
  /** PVCs labelled `runner-pod=<runner>` (the job's clones). */
  readonly pvcs: readonly {
    readonly name: string;
    readonly phase: string | undefined;
    readonly deleting: boolean;
    readonly owners: readonly OwnerText[];
    readonly kept: boolean;
    readonly expiresAt: string | undefined;
  }[];
  /** VolumeSnapshots labelled `zrh.dev/cache=<cache>` (its seed, generations and candidates). */
  readonly snapshots: readonly {
    readonly name: string;
    readonly ready: boolean;
    readonly deleting: boolean;
    readonly role: string | undefined;
    readonly runnerPod: string | undefined;
    readonly source: string | undefined;
    readonly expiresAt: string | undefined;
  }[];
  /** The cache head. */
  readonly head: {
    readonly generation: number;
    readonly snapshot: string;
    readonly history: readonly { readonly generation: number; readonly snapshot: string }[];
  };
}

const ownersOf = (m: V1ObjectMeta | undefined): OwnerText[] => (m?.ownerReferences ?? []).map((o) => `${o.kind}/${o.name}`);
const EXPIRES_AT = 'zrh.dev/expires-at';

/** Host folder of a host-path CSI PersistentVolume. */
export function volumeDirOf(pv: V1PersistentVolume): string {
  return csiVolumeDir(pv);
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
  seed: {
    readonly repositories?: readonly string[];
    /**
     * StorageClass of the cache (its golden PVC, so its clones and snapshots too). The cache suites
     * keep it on the zfs-like storage; a test that reads fresh clones on the host uses csi-hostpath.
     * @default ZFS_LIKE_CLASS
     */
    readonly storageClass?: string;
  } = {},
): Promise<CacheWorld> {
  if (!existsSync(DEFAULT_HOOK_PATH))
    throw new Error(`the hook bundle ${DEFAULT_HOOK_PATH} is missing: build it with \`pnpm --filter @zfs-runner-hooks/k8s-hook build\``);
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
    const bound = await waitFor(
      `PVC ${pvc} Bound`,
      () => core.readNamespacedPersistentVolumeClaim({ name: pvc, namespace: ns.name }),
      (c) => c.status?.phase === 'Bound',
    );
    return volumeDirOf(await core.readPersistentVolume({ name: bound.spec?.volumeName ?? '' }));
  };
  const cli = (...argv: string[]) => runZfsClone(ns.name, operator, argv);
  const headWithHistory = async (name: string) => {
    const { head } = await readHead(kube, ns.name, name);
    return { generation: head.generation, snapshot: head.snapshot, history: head.history.map((e) => ({ generation: e.generation, snapshot: e.snapshot })) };
  };

  await core.createNamespacedPersistentVolumeClaim({
    namespace: ns.name,
    body: {
      metadata: { name: 'golden' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: seed.storageClass ?? ZFS_LIKE_CLASS, resources: { requests: { storage: '10Mi' } } },
    },
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
        ...(options.onOutput ? { onOutput: options.onOutput } : {}),
        ...(options.hookPriority !== undefined ? { hookPriority: options.hookPriority } : {}),
      });
      runners.push(started);
      return started;
    },
    async seed(name) {
      const seeded = await cli('seed', name, '--from-pvc', 'golden', '--repository', REPOSITORY);
      if (seeded.code !== 0) throw new Error(`zfs-clone seed ${name} failed (${seeded.code}): ${seeded.err}`);
    },
    headWithHistory,
    async watch(resource, labelSelector, onObject) {
      const path =
        resource === 'volumesnapshots'
          ? `/apis/${SNAPSHOTS.group}/${SNAPSHOTS.version}/namespaces/${ns.name}/volumesnapshots`
          : `/api/v1/namespaces/${ns.name}/${resource}`;
      const request = await new Watch(admin).watch(
        path,
        labelSelector ? { labelSelector } : {},
        (type, object) => onObject(type, object as never),
        () => undefined,
      );
      return { stop: () => request.abort() };
    },
    async inventory(runnerPod, cacheName) {
      const mine = { namespace: ns.name, labelSelector: `runner-pod=${runnerPod}` };
      const [pods, secrets, pvcs, snaps, head] = await Promise.all([
        core.listNamespacedPod(mine),
        core.listNamespacedSecret(mine),
        core.listNamespacedPersistentVolumeClaim(mine),
        custom.listNamespacedCustomObject({ ...SNAPSHOTS, namespace: ns.name, labelSelector: `zrh.dev/cache=${cacheName}` }) as Promise<{
          items: VolumeSnapshot[];
        }>,
        headWithHistory(cacheName),
      ]);
      const common = (m: V1ObjectMeta | undefined) => ({ name: m?.name ?? '', deleting: Boolean(m?.deletionTimestamp), owners: ownersOf(m) });
      return {
        pods: pods.items.map((p: V1Pod) => ({ ...common(p.metadata), role: p.metadata?.labels?.['zrh.dev/role'] })),
        secrets: secrets.items.map((x: V1Secret) => ({ ...common(x.metadata), role: x.metadata?.labels?.['zrh.dev/role'] })),
        pvcs: pvcs.items.map((p: V1PersistentVolumeClaim) => ({
          ...common(p.metadata),
          phase: p.status?.phase,
          kept: p.metadata?.labels?.['zrh.dev/kept'] === 'true',
          expiresAt: p.metadata?.annotations?.[EXPIRES_AT],
        })),
        snapshots: snaps.items.map((x: VolumeSnapshot) => ({
          name: x.metadata?.name ?? '',
          ready: x.status?.readyToUse === true,
          deleting: Boolean(x.metadata?.deletionTimestamp),
          role: x.metadata?.labels?.['zrh.dev/role'],
          runnerPod: x.metadata?.labels?.['runner-pod'],
          source: x.spec?.source?.persistentVolumeClaimName,
          expiresAt: x.metadata?.annotations?.[EXPIRES_AT],
        })),
        head,
      };
    },
    async expireKept(cacheName) {
      const past = new Date(Date.now() - 1000).toISOString();
      const patch = { metadata: { annotations: { [EXPIRES_AT]: past } } };
      const selector = `zrh.dev/cache=${cacheName}`;
      const [snaps, pvcs] = await Promise.all([
        custom.listNamespacedCustomObject({ ...SNAPSHOTS, namespace: ns.name, labelSelector: selector }) as Promise<{ items: VolumeSnapshot[] }>,
        core.listNamespacedPersistentVolumeClaim({ namespace: ns.name, labelSelector: selector }),
      ]);
      const expiring = <T extends { metadata?: V1ObjectMeta }>(items: readonly T[]) =>
        items.filter((o) => o.metadata?.annotations?.[EXPIRES_AT] && !o.metadata.deletionTimestamp).map((o) => o.metadata?.name ?? '');
      const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      const expired: string[] = [];
      for (const name of expiring(snaps.items)) {
        await custom.patchNamespacedCustomObject({ ...SNAPSHOTS, namespace: ns.name, name, body: patch }, merge);
        expired.push(`snapshot/${name}`);
      }
      for (const name of expiring(pvcs.items)) {
        await core.patchNamespacedPersistentVolumeClaim({ namespace: ns.name, name, body: patch }, merge);
        expired.push(`volume/${name}`);
      }
      return expired;
    },
    async objects() {
      const [pvcs, snaps, pods] = await Promise.all([
        core.listNamespacedPersistentVolumeClaim({ namespace: ns.name }),
        custom.listNamespacedCustomObject({ ...SNAPSHOTS, namespace: ns.name }) as Promise<{ items: VolumeSnapshot[] }>,
        core.listNamespacedPod({ namespace: ns.name }),
      ]);
      const alive = <T extends { metadata?: { deletionTimestamp?: unknown } }>(o: T) => !o.metadata?.deletionTimestamp;
      return {
        pvcs: pvcs.items
          .filter(alive)
          .map((p) => p.metadata?.name ?? '')
          .filter((n) => n !== 'golden' && !n.endsWith('-work'))
          .sort(),
        snapshots: snaps.items
          .filter((s) => !(s.metadata as { deletionTimestamp?: unknown } | undefined)?.deletionTimestamp)
          .map((s) => s.metadata?.name ?? '')
          .sort(),
        pods: pods.items
          .filter(alive)
          .map((p) => p.metadata?.name ?? '')
          .sort(),
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
