import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKubeClient, loadKubeConfigFile, R, type KubeClient } from '../../packages/kube/src/index.js';
import { note } from './report.js';
import { clusterRunning, envFlag } from '../../test/cluster/running.js';
import { hookRoleYaml } from '../../test/cluster/hook-role.js';

/** The repository's root folder. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The hook bundle the benchmarks run (as the runner image ships it). */
export const HOOK_BUNDLE = join(REPO_ROOT, 'packages/k8s-hook/dist/index.js');

/** The hook's Role; the benchmarks run the hook under exactly this identity, never as admin. */
export const HOOK_ROLE = join(REPO_ROOT, 'deploy/rbac/hook-role.yaml');

/** Label of the real node (kwok's fake nodes lack it). */
export const REAL_NODE_LABEL = 'zrh.dev/real-node';

/** `kwok`: fake nodes only; `real`: one real node (kubelet + containerd), kwok nodes tainted. */
export type NodeMode = 'kwok' | 'real';

/**
 * Where the benchmarks' own cluster lives: `ZRH_BENCH_CLUSTER_DIR` (default /tmp/zrh-bench) and
 * `ZRH_BENCH_PORT_BASE` (default 22400), so they never run in someone else's cluster.
 */
export function benchClusterSettings(): { readonly dir: string; readonly portBase: string } {
  return { dir: process.env['ZRH_BENCH_CLUSTER_DIR'] ?? '/tmp/zrh-bench', portBase: process.env['ZRH_BENCH_PORT_BASE'] ?? '22400' };
}

/** A running benchmark cluster. */
export interface BenchCluster {
  readonly dir: string;
  readonly kubeconfig: string;
  readonly binDir: string;
  readonly mode: NodeMode;
  /** The project's client as cluster admin (arranging and observing, never the hook's identity). */
  readonly admin: KubeClient;
  /** Stops the cluster unless `ZRH_CLUSTER_KEEP=1` or it was already running before. */
  stop(): Promise<void>;
}

function scriptEnv(mode: NodeMode): NodeJS.ProcessEnv {
  const { dir, portBase } = benchClusterSettings();
  return { ...process.env, ZRH_CLUSTER_DIR: dir, ZRH_CLUSTER_PORT_BASE: portBase, ZRH_NODE_MODE: mode };
}

/** Runs a script of the repository with the bench cluster's settings; returns its last stdout line. */
export function runScript(script: string, args: readonly string[], mode: NodeMode, timeoutMs = 20 * 60_000): string {
  const result = spawnSync('bash', [join(REPO_ROOT, script), ...args], {
    env: scriptEnv(mode),
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${script} failed (exit ${String(result.status ?? result.signal)})`);
  return result.stdout.trim().split('\n').pop() ?? '';
}

async function runningMode(admin: KubeClient): Promise<NodeMode> {
  const real = await admin.list({ type: R.nodes }, { labelSelector: `${REAL_NODE_LABEL}=true` });
  return real.items.length > 0 ? 'real' : 'kwok';
}

/**
 * Brings up the benchmark cluster in `mode` (`any`: whatever runs, else kwok). A cluster already
 * running in another mode is restarted in this one (the dir belongs to the benchmarks).
 */
export async function startBenchCluster(mode: NodeMode | 'any'): Promise<BenchCluster> {
  const { dir, portBase } = benchClusterSettings();
  const kubeconfig = join(dir, 'admin.kubeconfig');
  let preexisting = clusterRunning(dir);
  let actual: NodeMode | undefined;
  if (preexisting) {
    const probe = createKubeClient(await loadKubeConfigFile(kubeconfig));
    actual = await runningMode(probe);
    probe.close();
    if (mode !== 'any' && actual !== mode) {
      if (envFlag('ZRH_BENCH_EXTERNAL')) throw new Error(`the cluster in ${dir} runs in ${actual} mode, this benchmark needs ${mode} mode; with ZRH_BENCH_EXTERNAL=1 it is not restarted`);
      note(`cluster in ${dir} runs in ${actual} mode; restarting it in ${mode} mode`);
      runScript('test/cluster/down.sh', [], actual);
      preexisting = false;
    }
  }
  if (!preexisting && envFlag('ZRH_BENCH_EXTERNAL')) throw new Error(`no cluster runs in ${dir}; with ZRH_BENCH_EXTERNAL=1 the benchmarks start none`);
  const want: NodeMode = mode === 'any' ? (actual ?? 'kwok') : mode;
  const started = performance.now();
  if (!preexisting) {
    note(`starting the bench cluster (${want} mode) in ${dir}, ports ${portBase}+ …`);
    runScript('test/cluster/up.sh', [], want);
    note(`cluster up in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } else {
    note(`using the bench cluster already running in ${dir} (${want} mode)`);
  }
  const admin = createKubeClient(await loadKubeConfigFile(kubeconfig));
  const binDir = readFileSync(join(dir, 'bin-dir'), 'utf8').trim();
  return {
    dir,
    kubeconfig,
    binDir,
    mode: want,
    admin,
    async stop() {
      admin.close();
      if (envFlag('ZRH_CLUSTER_KEEP') || preexisting) {
        note(`leaving the bench cluster in ${dir} running${preexisting ? ' (it was up before)' : ' (ZRH_CLUSTER_KEEP=1)'}`);
        return;
      }
      runScript('test/cluster/down.sh', [], want);
    },
  };
}

/** A namespace of one benchmark, with the hook's least-privilege kubeconfig. */
export interface BenchNamespace {
  readonly name: string;
  /** Kubeconfig of ServiceAccount `hook` bound to deploy/rbac/hook-role.yaml. */
  readonly hookKubeconfig: string;
  delete(): Promise<void>;
}

/**
 * Creates `<prefix>-<random>` with the hook's ServiceAccount and Role (which may move the heads of
 * `caches`), and waits for `default`.
 */
export async function createBenchNamespace(cluster: BenchCluster, prefix: string, caches: readonly string[] = ['conan']): Promise<BenchNamespace> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await cluster.admin.create({ type: R.namespaces }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const scratch = mkdtempSync(join(tmpdir(), 'zrh-bench-'));
  const hookKubeconfig = join(scratch, 'hook.kubeconfig');
  const role = join(scratch, 'hook-role.yaml');
  writeFileSync(role, hookRoleYaml(name, caches));
  try {
    runScript('test/cluster/sa-kubeconfig.sh', [name, 'hook', role, hookKubeconfig], cluster.mode);
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    await cluster.admin.delete({ type: R.namespaces, name }).catch(() => false);
    throw error;
  }
  const deadline = Date.now() + 30_000;
  while (!(await cluster.admin.find({ type: R.serviceAccounts, namespace: name, name: 'default' }))) {
    if (Date.now() > deadline) throw new Error(`ServiceAccount default did not appear in namespace ${name}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    name,
    hookKubeconfig,
    async delete() {
      rmSync(scratch, { recursive: true, force: true });
      await cluster.admin.delete({ type: R.namespaces, name }, { propagationPolicy: 'Background' }).catch(() => false);
    },
  };
}

/** Fails with a hint when the hook bundle has not been built. */
export function requireBundle(): void {
  if (!existsSync(HOOK_BUNDLE)) {
    throw new Error(`the hook bundle ${HOOK_BUNDLE} is missing: build it with \`pnpm --filter @zfs-runner-hooks/k8s-hook build\``);
  }
}
