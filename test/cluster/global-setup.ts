/**
 * Vitest global setup of the `integration` project: starts the local test cluster once per run
 * (`test/cluster/up.sh`) and stops it afterwards (`test/cluster/down.sh`).
 *
 * Environment:
 * - `ZRH_CLUSTER_EXTERNAL=1`: a cluster is already up in `ZRH_CLUSTER_DIR`; neither start nor stop it.
 * - `ZRH_CLUSTER_KEEP=1`: start it (fast when it is already up) but leave it running afterwards.
 * A cluster that was already up when the run began is never stopped by the run.
 * - `ZRH_CLUSTER_DIR`, `ZRH_CLUSTER_PORT_BASE`: where and on which ports (see README.md).
 * - `ZRH_NODE_MODE`: `real` (default here: kwok nodes plus one real node, `test/node/`) or `kwok`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { clusterRunning, envFlag } from './running.js';

/** What the global setup hands to the test files (`inject('zrhCluster')`). */
export interface ClusterInfo {
  /** State dir of the cluster (pidfiles, logs, host-path CSI volumes under `csi-hostpath/`). */
  readonly dir: string;
  /** Admin kubeconfig (client certificate in `system:masters`). */
  readonly kubeconfig: string;
  /** Folder with the cluster's binaries (kubectl, …). */
  readonly binDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    zrhCluster: ClusterInfo;
  }
}

const here = dirname(fileURLToPath(import.meta.url));

/** Integration suites run with the real node (`test/node/`) unless `ZRH_NODE_MODE` says otherwise. */
const scriptEnv: NodeJS.ProcessEnv = { ...process.env, ZRH_NODE_MODE: process.env['ZRH_NODE_MODE'] ?? 'real' };

function runScript(script: string): void {
  const started = Date.now();
  const result = spawnSync('bash', [join(here, script)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: scriptEnv,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `test/cluster/${script} failed with exit code ${String(result.status)} after ${Date.now() - started} ms; ` +
        'see the messages above and the logs in the cluster dir',
    );
  }
}

export default function setup({ provide }: TestProject): (() => void) | undefined {
  const dir = process.env['ZRH_CLUSTER_DIR'] ?? '/tmp/zrh-cluster';
  const external = envFlag('ZRH_CLUSTER_EXTERNAL');
  const keep = envFlag('ZRH_CLUSTER_KEEP');

  // A cluster that was already running before this run (someone's `pnpm cluster:up`) is left running.
  const preexisting = external || clusterRunning(dir);
  if (!external) runScript('up.sh');
  const kubeconfig = join(dir, 'admin.kubeconfig');
  const binDirFile = join(dir, 'bin-dir');
  if (!existsSync(kubeconfig) || !existsSync(binDirFile)) {
    throw new Error(
      `No running test cluster in ${dir} (missing admin.kubeconfig or bin-dir). ` + 'Start one with `pnpm cluster:up` or unset ZRH_CLUSTER_EXTERNAL.',
    );
  }
  provide('zrhCluster', { dir, kubeconfig, binDir: readFileSync(binDirFile, 'utf8').trim() });

  if (preexisting || keep) return undefined;
  return () => runScript('down.sh');
}
