import { createServer, connect, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../cluster/harness.js';
import type { StartedRunner } from '../../simulator/start.js';
import { adminKubeClient, execText } from '../node/real-node.js';
import { createHookSuite, IMAGES, jobPodOf, output, startRunner, type HookSuite } from './helpers.js';

/** A TCP relay to the API server whose open connections can be cut, like a network failure. */
class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  port = 0;

  async start(target: URL): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  /** Destroys every open connection (new ones are still accepted). */
  cut(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    return n;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** The hook's identity, but reaching the API server through `proxyPort`. */
function throughProxy(kc: KubeConfig, proxyPort: number): KubeConfig {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  const context = kc.getContextObject(kc.getCurrentContext());
  if (!cluster || !user || !context) throw new Error('incomplete hook kubeconfig');
  const server = new URL(cluster.server);
  server.port = String(proxyPort);
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: [{ ...cluster, server: server.toString().replace(/\/$/, '') }],
    users: [user],
    contexts: [context],
    currentContext: context.name,
  });
  return out;
}

/** Resolves once `text` has appeared in the hook output collected in `seen`. */
function outputContains(seen: { text: string }, text: string): Promise<void> {
  return waitFor(
    `hook output to contain ${JSON.stringify(text)}`,
    async () => seen.text.includes(text),
    (v) => v,
    { timeoutMs: 120_000, intervalMs: 100 },
  ).then(() => undefined);
}

describe('interrupted steps never pass: a lost exec stream and cancellation', () => {
  let suite: HookSuite;
  let runner: StartedRunner;
  let kube: KubeClient;
  const proxy = new CuttableProxy();
  const seen = { text: '' };

  beforeAll(async () => {
    suite = await createHookSuite('hook-intr');
    const server = suite.hookKubeConfig.getCurrentCluster()?.server;
    if (!server) throw new Error('no API server');
    await proxy.start(new URL(server));
    runner = await startRunner(suite, 'volume', {
      hookKubeConfig: throughProxy(suite.hookKubeConfig, proxy.port),
      onOutput: (chunk) => {
        seen.text += chunk;
      },
    });
    kube = await adminKubeClient();
    const prepare = await runner.simulator.prepareJob({ image: IMAGES.debian });
    if (!prepare.ok) throw new Error(`prepare_job failed:\n${output(prepare)}`);
  });
  afterAll(async () => {
    await runner?.simulator.cleanupJob().catch(() => undefined);
    await runner?.dispose();
    kube?.close();
    await proxy.stop();
    await suite?.ns.delete();
  });

  async function sleepers(): Promise<string> {
    const ps = await execText(kube, { namespace: suite.namespace, pod: jobPodOf(runner.simulator.state), container: 'job' }, [
      'sh',
      '-c',
      'ps -eo args | grep "[s]leep 3600" || true',
    ]);
    return ps.stdout.trim();
  }

  it('a dropped connection to the API server during a step fails the step, says its result is unknown, and stops the step in the pod', async () => {
    seen.text = '';
    const step = runner.simulator.runScript('echo "step started: dropped"\nsleep 3600\necho "should not matter"\n');
    await outputContains(seen, 'step started: dropped');
    expect(await sleepers()).toContain('sleep 3600');
    expect(proxy.cut()).toBeGreaterThan(0);
    const call = await step;
    expect(call.exitCode, output(call)).not.toBe(0);
    expect(call.exitCode).not.toBeNull();
    expect(call.stdout + call.stderr).toMatch(/::error::.*result is unknown\. The step was stopped in the job pod \(SIGTERM, then SIGKILL\)\./);
    // Checked by the hook with a second exec, and here once more.
    await waitFor('the lost step to be gone from the job pod', sleepers, (ps) => ps === '', { timeoutMs: 10_000 });
  });

  it('SIGINT during a step stops the process in the job pod and the hook exits non-zero', async () => {
    seen.text = '';
    const step = runner.simulator.runScript('echo "step started: cancel"\nsleep 3600\n');
    await outputContains(seen, 'step started: cancel');
    expect(await sleepers()).toContain('sleep 3600');
    expect(runner.simulator.kill('SIGINT')).toBe(true);
    const call = await step;
    expect(call.exitCode, output(call)).toBe(130);
    expect(call.stdout + call.stderr).toMatch(/::error::.*cancel/i);
    await waitFor('the cancelled step to be gone from the job pod', sleepers, (ps) => ps === '', { timeoutMs: 15_000 });
  });

  it('a job pod deleted under a running step fails the step', async () => {
    seen.text = '';
    const step = runner.simulator.runScript('echo "step started: deleted"\nsleep 3600\n');
    await outputContains(seen, 'step started: deleted');
    await suite.core.deleteNamespacedPod({ name: jobPodOf(runner.simulator.state), namespace: suite.namespace, gracePeriodSeconds: 0 });
    const call = await step;
    // The runtime kills the step with the container: a signal's exit code, reported as the step's.
    expect(call.exitCode, output(call)).toBeGreaterThan(128);
    expect(call.stdout).toContain(`The step exited with code ${String(call.exitCode)}`);
  });
});
