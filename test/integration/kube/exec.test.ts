import { Writable } from 'node:stream';
import { createKubeClient, ExecAbortedError, ExecError, loadKubeConfig, R, type KubeClient } from '@zfs-runner-hooks/kube';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, createTestNamespace, type TestNamespace } from '../../cluster/harness.js';

// Needs the real node (kubelet + containerd, label zrh.dev/real-node=true) and the locally built
// image zrh.local/busybox:1.

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write: (c: Buffer, _e, cb) => {
        chunks.push(c);
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString(),
  };
}

describe('exec and logs on a real pod', () => {
  let ns: TestNamespace;
  let kube: KubeClient;
  const pod = 'exec-target';

  beforeAll(async () => {
    ns = await createTestNamespace('exec');
    kube = createKubeClient(await loadKubeConfig({ kubeconfig: cluster().kubeconfig, env: {} }));
    const body: V1Pod = {
      metadata: { name: pod },
      spec: {
        nodeSelector: { 'zrh.dev/real-node': 'true' },
        restartPolicy: 'Never',
        containers: [
          { name: 'job', image: 'zrh.local/busybox:1', imagePullPolicy: 'Never', command: ['sh', '-c', 'echo started; echo line2; exec sleep 3600'] },
        ],
      },
    };
    await kube.create({ type: R.pods, namespace: ns.name }, body);
    await kube.watch<V1Pod>(
      { type: R.pods, namespace: ns.name },
      (e) => e.object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
      { fieldSelector: `metadata.name=${pod}`, timeoutSeconds: 120 },
    );
  });
  afterAll(async () => {
    kube?.close();
    await ns?.delete();
  });

  const run = (command: string[], extra: Partial<Parameters<KubeClient['exec']>[0]> = {}) =>
    kube.exec({ namespace: ns.name, pod, container: 'job', command, ...extra });

  it('returns exit code 0 and separates stdout from stderr', async () => {
    const out = sink();
    const err = sink();
    const result = await run(['sh', '-c', 'echo to-out; echo to-err >&2'], { stdout: out.stream, stderr: err.stream });
    expect(result).toEqual({ exitCode: 0, protocol: 'v5.channel.k8s.io' });
    expect(out.text()).toBe('to-out\n');
    expect(err.text()).toBe('to-err\n');
  });

  it('returns the command exit code from the status channel', async () => {
    await expect(run(['sh', '-c', 'exit 42'])).resolves.toMatchObject({ exitCode: 42 });
  });

  it('sends many MB of stdin and closes it so the command sees EOF', async () => {
    const out = sink();
    const size = 24 * 1024 * 1024;
    const result = await run(['sh', '-c', 'wc -c'], { stdin: Buffer.alloc(size, 0x61), stdout: out.stream });
    expect(result.exitCode).toBe(0);
    expect(out.text().trim()).toBe(String(size));
  });

  it('rejects with ExecError when the command does not exist', async () => {
    const err = await run(['no-such-command']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecError);
    expect((err as ExecError).message).toMatch(/^exec of "no-such-command" in pod .*\/exec-target container job failed: .*no-such-command/);
  });

  it('keeps a silent command alive with keepalive pings', async () => {
    await expect(run(['sleep', '3'], { keepaliveMs: 500 })).resolves.toMatchObject({ exitCode: 0 });
  });

  it('rejects with ExecAbortedError when aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 500);
    await expect(run(['sleep', '30'], { signal: ac.signal })).rejects.toBeInstanceOf(ExecAbortedError);
  });

  it('reads the container log as text and as a stream', async () => {
    expect(await kube.logs({ namespace: ns.name, pod, container: 'job' })).toBe('started\nline2\n');
    expect(await kube.logs({ namespace: ns.name, pod, tailLines: 1 })).toBe('line2\n');
    const out = sink();
    const ac = new AbortController();
    const following = kube.logs({ namespace: ns.name, pod, follow: true, signal: ac.signal }, out.stream);
    setTimeout(() => ac.abort(), 1000);
    await following;
    expect(out.text()).toBe('started\nline2\n');
    expect(kube.stats.byKind.get('GET pods/log')).toBe(3);
    expect(kube.stats.byKind.get('EXEC pods/exec')).toBeGreaterThanOrEqual(6);
  });
});
