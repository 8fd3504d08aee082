/**
 * Helpers for integration tests against the local test cluster started by `global-setup.ts`.
 * Tests of the hook run as a least-privilege ServiceAccount (`serviceAccountKubeConfig`), never
 * as admin; the admin identity is for arranging and inspecting.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1PersistentVolumeClaim,
  type V1Role,
  type V1TypedLocalObjectReference,
} from '@kubernetes/client-node';
import { inject } from 'vitest';
import { parse } from 'yaml';
import type { ClusterInfo } from './global-setup.js';

/** Where the running test cluster lives (provided by the global setup). */
export function cluster(): ClusterInfo {
  return inject('zrhCluster');
}

/** A KubeConfig for the cluster's admin (client certificate in `system:masters`). */
export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster().kubeconfig);
  return kc;
}

/** Folder of a host-path CSI volume on this machine, from its PV's `spec.csi.volumeHandle`. */
export function hostPathVolumeDir(volumeHandle: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(volumeHandle)) {
    throw new Error(`unexpected volumeHandle ${JSON.stringify(volumeHandle)}`);
  }
  return join(cluster().dir, 'csi-hostpath', 'volumes', volumeHandle);
}

/**
 * Folder of a zfs-like volume on this machine, from its PV's `spec.csi.volumeHandle`: its overlay
 * while a pod uses it (`csi-zfslike/mnt/<dataset>`), else, for a volume that is no clone, its own
 * layer (written there, files show in the volume once it is mounted). A clone that no pod uses
 * has no folder holding all its files: that throws.
 */
export function zfsLikeVolumeDir(volumeHandle: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(volumeHandle)) throw new Error(`unexpected volumeHandle ${JSON.stringify(volumeHandle)}`);
  const root = join(cluster().dir, 'csi-zfslike');
  const mountpoint = join(root, 'mnt', volumeHandle);
  if (
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((line) => line.split(' ')[4] === mountpoint)
  )
    return mountpoint;
  const state = JSON.parse(readFileSync(join(root, 'state.json'), 'utf8')) as { datasets: Record<string, { upper: string; lowers: string[] }> };
  const dataset = state.datasets[volumeHandle];
  if (!dataset) throw new Error(`zfs-like has no dataset ${volumeHandle}`);
  if (dataset.lowers.length > 0)
    throw new Error(`zfs-like dataset ${volumeHandle} is a clone or was snapshotted, and no pod mounts it: its files are in no one folder`);
  return join(root, 'layers', dataset.upper);
}

/** Folder of a volume of either test CSI driver on this machine, from its PV. */
export function csiVolumeDir(pv: { spec?: { csi?: { driver?: string; volumeHandle?: string } } }): string {
  const handle = pv.spec?.csi?.volumeHandle ?? '';
  return pv.spec?.csi?.driver === ZFS_LIKE_DRIVER ? zfsLikeVolumeDir(handle) : hostPathVolumeDir(handle);
}

/** The CSI driver name of the zfs-like storage (ZFS-LocalPV's own). */
export const ZFS_LIKE_DRIVER = 'zfs.csi.openebs.io';
/** StorageClass of the zfs-like storage, where the cache suites keep their caches. */
export const ZFS_LIKE_CLASS = 'zfs-like';

/** HTTP status of a failed API call, or undefined when it is not an API error. */
export function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

export interface WaitOptions {
  /** @default 60_000 */
  readonly timeoutMs?: number;
  /** @default 250 */
  readonly intervalMs?: number;
}

/**
 * Polls `probe` until `done(value)` holds and returns that value. On timeout, throws an error
 * naming `what` and showing the last value seen (or the last error thrown by `probe`).
 */
export async function waitFor<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const intervalMs = options.intervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await probe();
      if (done(value)) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) {
      const seen = last === undefined ? 'nothing' : 'error' in last ? `error ${describeError(last.error)}` : JSON.stringify(last.value, null, 2);
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function describeError(error: unknown): string {
  if (error instanceof ApiException) return `HTTP ${error.code}: ${String(error.body).slice(0, 500)}`;
  return error instanceof Error ? error.message : String(error);
}

/** A namespace of one test file. */
export interface TestNamespace {
  readonly name: string;
  /** Deletes the namespace (and everything in it) without waiting for finalizers. */
  delete(): Promise<void>;
}

/**
 * Creates a fresh namespace `<prefix>-<random>` (label `zrh.test/namespace=true`) and waits for its
 * `default` ServiceAccount, which pods need. Delete it in `afterAll`.
 */
export async function createTestNamespace(prefix: string): Promise<TestNamespace> {
  const core = adminKubeConfig().makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({
    body: { metadata: { name, labels: { 'zrh.test/namespace': 'true' } } },
  });
  await waitFor(
    `ServiceAccount "default" in namespace "${name}"`,
    () => core.readNamespacedServiceAccount({ name: 'default', namespace: name }),
    () => true,
    { timeoutMs: 30_000 },
  );
  return {
    name,
    async delete() {
      try {
        await core.deleteNamespace({ name, propagationPolicy: 'Background' });
      } catch (error) {
        if (apiStatus(error) !== 404) throw error;
      }
    },
  };
}

/**
 * Creates, in `namespace`, a ServiceAccount plus the Role read from `roleFile` (a YAML Role; its
 * namespace is replaced), or the Role given, and a RoleBinding, and returns a KubeConfig that
 * authenticates with a TokenRequest token of that ServiceAccount: the same RBAC a runner pod would
 * have. The hook's own Role, with the heads of the caches a test seeds, comes from `hookRole`
 * (hook-role.ts).
 */
export async function serviceAccountKubeConfig(namespace: string, roleFile: string | V1Role, name = 'hook'): Promise<KubeConfig> {
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const role = parseRole(roleFile, name, namespace);
  const roleName = role.metadata?.name ?? name;

  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createNamespacedRole({ namespace, body: role });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = tokenRequest.status?.token;
  if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);

  const server = admin.getCurrentCluster();
  if (!server) throw new Error('admin kubeconfig has no current cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'zrh', server: server.server, caFile: server.caFile, caData: server.caData }],
    users: [{ name: `${namespace}-${name}`, token }],
    contexts: [{ name: 'zrh', cluster: 'zrh', user: `${namespace}-${name}`, namespace }],
    currentContext: 'zrh',
  });
  return kc;
}

function parseRole(roleFile: string | V1Role, defaultName: string, namespace: string): V1Role {
  const doc: unknown = typeof roleFile === 'string' ? parse(readFileSync(roleFile, 'utf8')) : roleFile;
  if (typeof doc !== 'object' || doc === null || (doc as { kind?: unknown }).kind !== 'Role') {
    throw new Error(`${typeof roleFile === 'string' ? roleFile : 'the Role given'}: expected a YAML document with kind: Role`);
  }
  const role = doc as V1Role;
  return { ...role, metadata: { ...role.metadata, name: role.metadata?.name ?? defaultName, namespace } };
}

/** A 10Mi ReadWriteOnce claim on the cluster's host-path StorageClass, optionally from a data source. */
export function hostPathClaim(name: string, dataSource?: V1TypedLocalObjectReference): V1PersistentVolumeClaim {
  return {
    metadata: { name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'csi-hostpath',
      resources: { requests: { storage: '10Mi' } },
      ...(dataSource ? { dataSource } : {}),
    },
  };
}
