/**
 * The fault proxy in front of the local test cluster's API server, with a certificate signed by
 * the cluster's CA (`$ZRH_CLUSTER_DIR/pki`, written by test/cluster/up.sh).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { adminKubeConfig, cluster } from '../cluster/harness.js';
import type { FaultRule } from './faults.js';
import { startFaultProxy, type FaultProxy } from './proxy.js';

/** Starts a proxy to the running test cluster's API server. */
export async function startClusterFaultProxy(faults?: readonly FaultRule[] | string): Promise<FaultProxy> {
  const pki = join(cluster().dir, 'pki');
  const server = adminKubeConfig().getCurrentCluster()?.server;
  if (!server) throw new Error(`${cluster().kubeconfig} has no current cluster`);
  return startFaultProxy({
    upstream: server,
    upstreamCa: await readFile(join(pki, 'ca.crt')),
    signingCa: { certFile: join(pki, 'ca.crt'), keyFile: join(pki, 'ca.key') },
    ...(faults !== undefined ? { faults } : {}),
  });
}
