import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { ApiException, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { createKubeClient, isKubeApiError, loadKubeConfigFile, R, watchUntil, type KubeClient } from '@zfs-runner-hooks/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, createTestNamespace, serviceAccountKubeConfig, type TestNamespace } from '../../cluster/harness.js';
import { startClusterFaultProxy } from '../../fault-proxy/cluster.js';
import { proxyKubeConfig } from '../../fault-proxy/kubeconfig.js';
import type { FaultProxy } from '../../fault-proxy/proxy.js';
import { formatRecord, requestTypes } from '../../fault-proxy/request-log.js';
import { IMAGES, realNodePod, waitForRunningPod } from '../node/real-node.js';
import { HOOK_ROLE } from '../hook/helpers.js';

// Needs the real node (exec and logs) and the locally built busybox image.

const POD = 'fault-proxy-target';

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return { stream: new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }), text: () => Buffer.concat(chunks).toString() };
}

describe('the fault proxy in front of the test cluster’s API server', () => {
  let ns: TestNamespace;
  let proxy: FaultProxy;
  let through: KubeConfig;
  let kube: KubeClient;
  let dir: string;
  let kubeconfigFile: string;

  beforeAll(async () => {
    ns = await createTestNamespace('fault-proxy');
    const admin = adminKubeConfig();
    await admin.makeApiClient(CoreV1Api).createNamespacedPod({
      namespace: ns.name,
      body: realNodePod(POD, {
        containers: [{ name: 'job', image: IMAGES.busybox, command: ['sh', '-c', 'for i in 1 2 3; do echo "line $i"; done; exec sleep 3600'] }],
      }),
    });
    await waitForRunningPod(admin.makeApiClient(CoreV1Api), ns.name, POD);
    proxy = await startClusterFaultProxy();
    // The hook's identity (a bearer token) and the cluster's CA, the proxy as the server.
    through = proxyKubeConfig(await serviceAccountKubeConfig(ns.name, HOOK_ROLE), proxy.url);
    dir = await mkdtemp(join(tmpdir(), 'zrh-fault-proxy-it-'));
    kubeconfigFile = join(dir, 'kubeconfig');
    await writeFile(kubeconfigFile, through.exportConfig(), { mode: 0o600 });
    kube = createKubeClient(await loadKubeConfigFile(kubeconfigFile));
  });
  afterAll(async () => {
    kube?.close();
    await proxy?.close();
    await ns?.delete();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('@kubernetes/client-node lists pods through it, trusting it by the cluster’s CA', async () => {
    const pods = await through.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns.name });
    expect(pods.items.map((p) => p.metadata?.name)).toEqual([POD]);
    expect(proxy.requests.at(-1)).toMatchObject({ type: 'list pods', namespace: ns.name, status: 200, outcome: 'completed' });
  });

  it('the project’s client watches, follows a log and execs through it', async () => {
    const seen = await watchUntil<V1Pod, string>(
      kube,
      { type: R.pods, namespace: ns.name, name: POD },
      {
        onEvent: (e) => (e.object.status?.phase === 'Running' ? e.object.metadata?.name : undefined),
        timeoutMs: 30_000,
      },
    );
    expect(seen).toBe(POD);

    const out = new PassThrough();
    const abort = new AbortController();
    let logText = '';
    out.on('data', (c: Buffer) => {
      logText += c.toString();
      if (logText.includes('line 3\n')) abort.abort();
    });
    await kube.logs({ namespace: ns.name, pod: POD, container: 'job', follow: true, signal: abort.signal }, out).catch((e: unknown) => {
      if (!abort.signal.aborted) throw e;
    });
    expect(logText).toBe('line 1\nline 2\nline 3\n');

    const stdout = sink();
    const result = await kube.exec({
      namespace: ns.name,
      pod: POD,
      container: 'job',
      command: ['sh', '-c', 'echo "from $(hostname)"; exit 3'],
      stdout: stdout.stream,
    });
    expect(result).toEqual({ exitCode: 3, protocol: 'v5.channel.k8s.io' });
    expect(stdout.text()).toBe(`from ${POD}\n`);
  });

  it('a scripted 429 reaches @kubernetes/client-node as it is, and the project’s client retries it after Retry-After', async () => {
    proxy.addFaults('429 retry-after=1 x1 on list pods');
    const error = await through
      .makeApiClient(CoreV1Api)
      .listNamespacedPod({ namespace: ns.name })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiException);
    expect(error).toMatchObject({ code: 429, headers: expect.objectContaining({ 'retry-after': '1' }) });

    const [burst] = proxy.addFaults('429 retry-after=1 x2 on list pods');
    const listed = await kube.list<V1Pod>({ type: R.pods, namespace: ns.name });
    expect(listed.items.map((p) => p.metadata?.name)).toEqual([POD]);
    expect(burst?.hits).toBe(2);
    expect(proxy.requests.slice(-3).map((r) => r.status)).toEqual([429, 429, 200]);
    expect(kube.stats.retries).toBe(2);
  });

  it('a 503 burst longer than the client’s patience fails with the status named', async () => {
    proxy.addFaults('503 on get pods');
    const patient = createKubeClient(await loadKubeConfigFile(kubeconfigFile), { retry: { maxAttempts: 3, baseDelayMs: 10 } });
    try {
      const error = await patient.get({ type: R.pods, namespace: ns.name, name: POD }).catch((e: unknown) => e);
      expect(isKubeApiError(error) && error.status).toBe(503);
      expect((error as Error).message).toMatch(
        /get pods "fault-proxy-target" failed: the server is currently unable to handle the request \(HTTP 503\); gave up after 3 attempts/,
      );
    } finally {
      patient.close();
      proxy.clearFaults();
    }
  });

  it('a watch cut after an event is watched again from there; a 410 on that re-watch lists again; the wait still ends on what it waits for', async () => {
    const admin = adminKubeConfig().makeApiClient(CoreV1Api);
    const label = (step: string) =>
      admin.patchNamespacedPod({ name: POD, namespace: ns.name, body: [{ op: 'add', path: '/metadata/labels', value: { step } }] });
    proxy.addFaults('cut-stream after-events=1 x1 on watch pods\ngone x1 after=1 on watch pods');
    const mark = proxy.requests.length;
    const since = () => proxy.requests.slice(mark);
    const waited = watchUntil<V1Pod, string>(
      kube,
      { type: R.pods, namespace: ns.name, name: POD },
      {
        onEvent: (e) => (e.object.metadata?.labels?.['step'] === '2' ? `${e.type} step 2` : undefined),
        timeoutMs: 60_000,
      },
    );
    await expect.poll(() => since().some((r) => r.type === 'watch pods' && r.outcome === 'open')).toBe(true);
    await label('1');
    // The first watch is cut after one event, the re-watch answered with 410, and the list read again.
    await expect.poll(() => since().filter((r) => r.type === 'list pods').length, { timeout: 30_000 }).toBe(2);
    await label('2');
    await expect(waited).resolves.toMatch(/step 2$/);
    proxy.clearFaults();
    expect(
      since()
        .slice(0, 4)
        .map((r) => `${r.type}: ${r.outcome}${r.fault ? ` (${r.fault})` : ''}`),
    ).toEqual([
      'list pods: completed',
      'watch pods: cut (cut-stream after-events=1 x1 on watch pods)',
      'watch pods: answered (gone x1 after=1 on watch pods)',
      'list pods: completed',
    ]);
    expect(kube.stats.rewatches).toBeGreaterThanOrEqual(1);
    expect(kube.stats.relists).toBeGreaterThanOrEqual(1);
  });

  it('a dropped exec fails with the result unknown, never a success', async () => {
    proxy.addFaults('drop-exec after-ms=500 x1 on exec');
    const error = await kube.exec({ namespace: ns.name, pod: POD, container: 'job', command: ['sh', '-c', 'sleep 5; echo done'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/the exec stream to .* closed without an exit status .*; the step's result is unknown/);
    expect(proxy.requests.at(-1)).toMatchObject({ type: 'exec pods/exec', status: 101, outcome: 'cut' });
  });

  it('names every request it forwarded in its log', () => {
    const types = requestTypes(proxy.requests);
    expect(types).toEqual(expect.arrayContaining(['list pods', 'watch pods', 'get pods/log (follow)', 'exec pods/exec', 'get pods']));
    for (const r of proxy.requests) {
      expect(r.namespace, formatRecord(r)).toBe(ns.name);
      expect(r.at, formatRecord(r)).toBeTypeOf('number');
    }
    const exec = proxy.requests.find((r) => r.type === 'exec pods/exec');
    expect(exec?.command).toEqual(['sh', '-c', 'echo "from $(hostname)"; exit 3']);
  });
});
