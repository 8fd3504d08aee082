/**
 * Shared set-up of the hook's integration suites: the bundle (rebuilt when a source is newer), a
 * namespace with the hook's least-privilege identity (deploy/rbac/hook-role.yaml), simulated
 * runners on the real node, and queries of what the hook left in the cluster.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, type KubeConfig, type V1PersistentVolume, type V1PersistentVolumeClaim, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { adminKubeConfig, createTestNamespace, hostPathVolumeDir, serviceAccountKubeConfig, type TestNamespace } from '../../cluster/harness.js';
import type { HookCall } from '../../simulator/runner.js';
import { DEFAULT_HOOK_PATH } from '../../simulator/runner.js';
import type { WorkMode } from '../../simulator/runner-pod.js';
import { startRunnerSimulator, type StartedRunner, type StartRunnerOptions } from '../../simulator/start.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** The Role every hook process in these suites runs under. */
export const HOOK_ROLE = join(repoRoot, 'deploy/rbac/hook-role.yaml');

/** The locally built images the real node has (test/images). */
export { IMAGES } from '../node/real-node.js';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds the hook bundle when it is missing or older than a source of the hook or its libraries. */
export function ensureHookBundle(): void {
  const sources = ['packages/k8s-hook/src', 'packages/kube/src', 'packages/zfs-clone/src'].map((d) => newestMtime(join(repoRoot, d)));
  let built = 0;
  try {
    built = statSync(DEFAULT_HOOK_PATH).mtimeMs;
  } catch {
    built = 0;
  }
  if (built > Math.max(...sources)) return;
  const result = spawnSync('pnpm', ['--filter', '@zfs-runner-hooks/k8s-hook', 'build'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`building the hook bundle failed (exit ${String(result.status ?? result.signal)})`);
}

/** One suite's namespace, admin API and the hook's identity. */
export interface HookSuite {
  readonly ns: TestNamespace;
  readonly namespace: string;
  readonly admin: KubeConfig;
  readonly core: CoreV1Api;
  /** The hook's least-privilege identity. */
  readonly hookKubeConfig: KubeConfig;
}

/** Creates a namespace and the hook's ServiceAccount bound to deploy/rbac/hook-role.yaml. */
export async function createHookSuite(prefix: string): Promise<HookSuite> {
  ensureHookBundle();
  const admin = adminKubeConfig();
  const ns = await createTestNamespace(prefix);
  const hookKubeConfig = await serviceAccountKubeConfig(ns.name, HOOK_ROLE);
  return { ns, namespace: ns.name, admin, core: admin.makeApiClient(CoreV1Api), hookKubeConfig };
}

/** Folder of a host-path CSI volume on this machine. */
function volumeDir(pv: V1PersistentVolume): string {
  return pv.spec?.csi?.volumeAttributes?.['hostPath'] ?? hostPathVolumeDir(pv.spec?.csi?.volumeHandle ?? '');
}

/** Starts a simulated runner (its pod on the real node) in the suite's namespace, the hook under the suite's identity unless `options` says otherwise. */
export async function startRunner(
  suite: HookSuite,
  mode: WorkMode,
  options: Omit<Partial<StartRunnerOptions>, 'admin' | 'namespace' | 'mode'> = {},
): Promise<StartedRunner> {
  return startRunnerSimulator({
    admin: suite.admin,
    hookKubeConfig: suite.hookKubeConfig,
    namespace: suite.namespace,
    mode,
    placement: 'real',
    volumeDir,
    ...options,
  });
}

/** What is labelled `runner-pod=<runner>` (pods, secrets, claims) in the namespace. */
export interface LabelledObjects {
  readonly pods: V1Pod[];
  readonly secrets: V1Secret[];
  readonly claims: V1PersistentVolumeClaim[];
}

/** Lists the objects labelled `runner-pod=<runnerPod>`; pods being deleted are left out. */
export async function labelledObjects(suite: HookSuite, runnerPod: string): Promise<LabelledObjects> {
  const q = { namespace: suite.namespace, labelSelector: `runner-pod=${runnerPod}` };
  const [pods, secrets, claims] = await Promise.all([
    suite.core.listNamespacedPod(q),
    suite.core.listNamespacedSecret(q),
    suite.core.listNamespacedPersistentVolumeClaim(q),
  ]);
  return { pods: pods.items.filter((p) => !p.metadata?.deletionTimestamp), secrets: secrets.items, claims: claims.items };
}

/** Names of labelled objects, for readable assertions. */
export function names(objects: LabelledObjects): { pods: string[]; secrets: string[]; claims: string[] } {
  const n = (list: { metadata?: { name?: string } }[]) => list.map((o) => o.metadata?.name ?? '?').sort();
  return { pods: n(objects.pods), secrets: n(objects.secrets), claims: n(objects.claims) };
}

/** Everything a hook call printed, for failure messages. */
export function output(call: HookCall): string {
  return `exit ${String(call.exitCode ?? call.signal)}\n--- stdout ---\n${call.stdout}\n--- stderr ---\n${call.stderr}\n--- response problems ---\n${call.responseProblems.join('\n')}`;
}

/** The job state the hook handed back, as an object. */
export function jobState(call: HookCall): Record<string, unknown> {
  const state = call.response?.['state'];
  if (!state || typeof state !== 'object') throw new Error(`no state in the response of ${call.command}:\n${output(call)}`);
  return state as Record<string, unknown>;
}

/** The job pod's name from the simulator's carried state. */
export function jobPodOf(state: unknown): string {
  const pod = (state as { jobPod?: unknown } | null)?.jobPod;
  if (typeof pod !== 'string') throw new Error(`no jobPod in state ${JSON.stringify(state)}`);
  return pod;
}
