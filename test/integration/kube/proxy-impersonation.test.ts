/**
 * Two kubeconfig fields operators meet: `proxy-url` (the API server only reachable through an HTTP
 * proxy) and impersonation (`as`, `as-groups`: an admin acting as a narrower identity). Against the
 * real API server, through a CONNECT proxy on loopback that records what it tunnels; the library,
 * the bundled `zfs-clone` CLI as its own process, and an exec (websocket) through the proxy.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeClient, KubeApiError, KubeConnectionError, loadKubeConfigFile, R, type KubeClient } from '@zfs-runner-hooks/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { cluster, createTestNamespace, serviceAccountKubeConfig, type TestNamespace } from '../../cluster/harness.js';
import { HOOK_ROLE } from '../hook/helpers.js';
import { adminCoreApi, execText, IMAGES, realNodePod, waitForRunningPod } from '../node/real-node.js';
import { CLI, ensureCliBundle } from './cli-bundle.js';

interface KubeConfigDoc {
  clusters: { name: string; cluster: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> }[];
  contexts: { name: string; context: Record<string, unknown> }[];
}

/** An HTTP CONNECT proxy on loopback: tunnels to loopback targets only, with optional Basic credentials. */
class ConnectProxy {
  readonly tunnels: string[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly credentials?: string) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        client.off('data', onData);
        const lines = head.subarray(0, end).toString('latin1').split('\r\n');
        const [method, target] = (lines[0] ?? '').split(' ');
        const auth = lines
          .find((l) => l.toLowerCase().startsWith('proxy-authorization:'))
          ?.slice('proxy-authorization:'.length)
          .trim();
        const [host, port] = [target?.slice(0, target.lastIndexOf(':')) ?? '', Number(target?.slice(target.lastIndexOf(':') + 1))];
        if (method !== 'CONNECT' || host !== '127.0.0.1') return void client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        if (this.credentials && auth !== `Basic ${Buffer.from(this.credentials).toString('base64')}`) {
          return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="zrh"\r\n\r\n');
        }
        this.tunnels.push(target ?? '');
        const upstream = connect(port, host, () => {
          client.write('HTTP/1.1 200 Connection established\r\n\r\n');
          const rest = head.subarray(end + 4);
          if (rest.length) upstream.write(rest);
          client.pipe(upstream).pipe(client);
        });
        this.sockets.add(upstream);
        upstream.on('close', () => this.sockets.delete(upstream));
        upstream.on('error', () => client.destroy());
      };
      client.on('data', onData);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('proxy-url and impersonation against the real API server', () => {
  let tmp: string;
  let admin: KubeConfigDoc;
  let ns: TestNamespace;
  let apiTarget: string;
  const open = new ConnectProxy();
  const guarded = new ConnectProxy('zrh-user:zrh-proxy-pass');

  beforeAll(async () => {
    ensureCliBundle();
    tmp = mkdtempSync(join(tmpdir(), 'proxy-as-'));
    admin = parse(readFileSync(cluster().kubeconfig, 'utf8')) as KubeConfigDoc;
    const server = new URL(String(admin.clusters[0]?.cluster['server']));
    apiTarget = `${server.hostname}:${server.port}`;
    ns = await createTestNamespace('proxy-as');
    // The identity to impersonate: the hook's ServiceAccount under its least-privilege Role.
    await serviceAccountKubeConfig(ns.name, HOOK_ROLE);
    await Promise.all([open.start(), guarded.start()]);
  });
  afterAll(async () => {
    await Promise.all([open.stop(), guarded.stop()]);
    await ns?.delete();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** The admin kubeconfig with cluster and user fields added, in the test namespace. */
  function variant(name: string, fields: { cluster?: Record<string, unknown>; user?: Record<string, unknown> }): string {
    const doc = structuredClone(admin);
    doc.clusters = doc.clusters.map((c) => ({ ...c, cluster: { ...c.cluster, ...fields.cluster } }));
    doc.users = doc.users.map((u) => ({ ...u, user: { ...u.user, ...fields.user } }));
    doc.contexts = doc.contexts.map((c) => ({ ...c, context: { ...c.context, namespace: ns.name } }));
    const file = join(tmp, `${name}.kubeconfig`);
    writeFileSync(file, stringify(doc), { mode: 0o600 });
    return file;
  }

  async function withClient<T>(file: string, fn: (kube: KubeClient) => Promise<T>): Promise<T> {
    const kube = createKubeClient(await loadKubeConfigFile(file));
    try {
      return await fn(kube);
    } finally {
      kube.close();
    }
  }

  /** Runs the CLI as its own process, without blocking this one (the proxy runs here). */
  function zfsClone(file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        { env: { PATH: process.env['PATH'], HOME: tmp, KUBECONFIG: file }, encoding: 'utf8', timeout: 60_000 },
        (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
        },
      );
    });
  }

  it('with proxy-url, every connection goes through the proxy: the library and the CLI', async () => {
    const file = variant('proxy', { cluster: { 'proxy-url': `http://127.0.0.1:${open.port}` } });
    const before = open.tunnels.length;
    await withClient(file, async (kube) => {
      const list = await kube.list({ type: R.configMaps, namespace: ns.name });
      expect(list.items.map((c) => (c as { metadata?: { name?: string } }).metadata?.name)).toContain('kube-root-ca.crt');
    });
    const cli = await zfsClone(file, ['list', '-o', 'json']);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual({ namespace: ns.name, caches: [], problems: [] });
    // One tunnel per connection (keep-alive reuses it); both the library and the CLI made theirs.
    expect(open.tunnels.slice(before).length).toBeGreaterThanOrEqual(2);
    expect(new Set(open.tunnels.slice(before))).toEqual(new Set([apiTarget]));
  });

  it('an exec (a websocket upgrade) goes through the proxy too, with stdin and both output streams', async () => {
    const core = adminCoreApi();
    await core.createNamespacedPod({
      namespace: ns.name,
      body: realNodePod('exec-target', { containers: [{ name: 'main', image: IMAGES.busybox, command: ['sleep', '3600'] }] }),
    });
    await waitForRunningPod(core, ns.name, 'exec-target');
    const file = variant('proxy-exec', { cluster: { 'proxy-url': `http://127.0.0.1:${open.port}` } });
    const before = open.tunnels.length;
    const out = await withClient(file, (kube) =>
      execText(kube, { namespace: ns.name, pod: 'exec-target', container: 'main' }, ['sh', '-c', 'cat; echo to-err >&2; exit 3'], 'through the tunnel\n'),
    );
    expect(out).toEqual({ exitCode: 3, stdout: 'through the tunnel\n', stderr: 'to-err\n' });
    expect(open.tunnels.length).toBeGreaterThan(before);
  });

  it('with proxy credentials in proxy-url, the proxy gets them; without them it refuses, and the error says so', async () => {
    const good = variant('proxy-auth', { cluster: { 'proxy-url': `http://zrh-user:zrh-proxy-pass@127.0.0.1:${guarded.port}` } });
    expect(await withClient(good, (kube) => kube.list({ type: R.configMaps, namespace: ns.name }).then(() => 'ok'))).toBe('ok');
    expect(guarded.tunnels).toContain(apiTarget);

    const bad = variant('proxy-noauth', { cluster: { 'proxy-url': `http://127.0.0.1:${guarded.port}` } });
    const err = await withClient(bad, (kube) =>
      kube.list({ type: R.configMaps, namespace: ns.name }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(err).toBeInstanceOf(KubeConnectionError);
    expect((err as Error).message).toContain(`proxy 127.0.0.1:${guarded.port} refused CONNECT ${apiTarget}: HTTP/1.1 407 Proxy Authentication Required`);
  });

  it('a proxy that is not listening: a connection error naming the proxy, after the retries', async () => {
    const closed = new ConnectProxy();
    await closed.start();
    const port = closed.port;
    await closed.stop();
    const file = variant('proxy-down', { cluster: { 'proxy-url': `http://127.0.0.1:${port}` } });
    const kube = createKubeClient(await loadKubeConfigFile(file), { retry: { deadlineMs: 1500 } });
    try {
      const err = await kube.list({ type: R.configMaps, namespace: ns.name }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(KubeConnectionError);
      expect((err as Error).message).toMatch(new RegExp(`proxy 127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
    } finally {
      kube.close();
    }
  });

  it("with as, the admin's requests act as the hook's ServiceAccount: what its Role allows works, reading Secrets is refused", async () => {
    const sa = `system:serviceaccount:${ns.name}:hook`;
    const file = variant('as', { user: { as: sa } });
    await withClient(file, async (kube) => {
      await expect(kube.list({ type: R.pods, namespace: ns.name })).resolves.toMatchObject({ kind: 'PodList' });
      const err = await kube.list({ type: R.secrets, namespace: ns.name }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(KubeApiError);
      expect((err as KubeApiError).status).toBe(403);
      expect((err as KubeApiError).serverMessage).toContain(`"${sa}" cannot list resource "secrets"`);
    });
    // Without impersonation the same kubeconfig is the admin, who may read Secrets.
    await withClient(variant('admin', {}), (kube) => expect(kube.list({ type: R.secrets, namespace: ns.name })).resolves.toBeDefined());
    // The CLI acts as the ServiceAccount too: its Role may read ConfigMaps.
    const cli = await zfsClone(file, ['list', '-o', 'json']);
    expect(cli.code, cli.stderr).toBe(0);
  });

  it('with as and as-groups, the groups are impersonated too (system:masters restores every right)', async () => {
    const file = variant('as-groups', { user: { as: 'someone-without-rights', 'as-groups': ['system:masters'] } });
    await withClient(file, (kube) => expect(kube.list({ type: R.secrets, namespace: ns.name })).resolves.toBeDefined());
    const nobody = variant('as-nobody', { user: { as: 'someone-without-rights' } });
    const err = await withClient(nobody, (kube) =>
      kube.list({ type: R.secrets, namespace: ns.name }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect((err as KubeApiError).status).toBe(403);
    expect((err as KubeApiError).serverMessage).toContain('"someone-without-rights" cannot list resource "secrets"');
  });
});
