/**
 * The kubeconfig fields that decide what the client trusts and who it is, against the real API
 * server: each is honoured as kubectl honours it, or refused before any request is sent.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createKubeClient, KubeConfigError, KubeConnectionError, loadKubeConfigFile, R } from '@zfs-runner-hooks/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { cluster } from '../../cluster/harness.js';

interface KubeConfigDoc {
  clusters: { name: string; cluster: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> }[];
}

describe('kubeconfig TLS and identity fields against the real API server', () => {
  let tmp: string;
  let admin: KubeConfigDoc;
  /** A certificate the server's certificate is not signed by (the admin's client certificate). */
  let wrongCa: string;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'kubeconfig-it-'));
    admin = parse(readFileSync(cluster().kubeconfig, 'utf8')) as KubeConfigDoc;
    wrongCa = join(dirname(String(admin.clusters[0]?.cluster['certificate-authority'])), 'admin.crt');
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** The admin kubeconfig with `cluster` and `user` fields replaced (`undefined` removes one). */
  function variant(name: string, fields: { cluster?: Record<string, unknown>; user?: Record<string, unknown> }): string {
    const doc = structuredClone(admin);
    const drop = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    doc.clusters = doc.clusters.map((c) => ({ ...c, cluster: drop({ ...c.cluster, ...fields.cluster }) }));
    doc.users = doc.users.map((u) => ({ ...u, user: drop({ ...u.user, ...fields.user }) }));
    const file = join(tmp, `${name}.kubeconfig`);
    writeFileSync(file, stringify(doc), { mode: 0o600 });
    return file;
  }

  /** Lists namespaces with the kubeconfig `file`; resolves with the error, or `ok`. */
  async function listWith(file: string): Promise<unknown> {
    const kube = createKubeClient(await loadKubeConfigFile(file));
    try {
      await kube.list({ type: R.namespaces });
      return 'ok';
    } catch (error) {
      return error;
    } finally {
      kube.close();
    }
  }

  it('verifies the server certificate against tls-server-name instead of the host of the URL', async () => {
    expect(await listWith(variant('sni-good', { cluster: { 'tls-server-name': 'kubernetes.default.svc' } }))).toBe('ok');
    const err = await listWith(variant('sni-bad', { cluster: { 'tls-server-name': 'not-the-apiserver.example' } }));
    expect(err).toBeInstanceOf(KubeConnectionError);
    expect((err as Error).message).toMatch(/TLS handshake with the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ failed \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
  });

  it('refuses insecure-skip-tls-verify next to a CA before any request, where the flag alone would accept any certificate', async () => {
    // What each half means on its own: the CA rejects this server, the flag accepts it.
    expect(await listWith(variant('wrong-ca', { cluster: { 'certificate-authority': wrongCa } }))).toBeInstanceOf(KubeConnectionError);
    expect(await listWith(variant('insecure', { cluster: { 'certificate-authority': undefined, 'insecure-skip-tls-verify': true } }))).toBe('ok');
    // Both: kubectl refuses; so does this client, instead of silently skipping the CA.
    const file = variant('both', { cluster: { 'certificate-authority': wrongCa, 'insecure-skip-tls-verify': true } });
    const err = await loadKubeConfigFile(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KubeConfigError);
    expect((err as Error).message).toBe(
      `kubeconfig ${file}: cluster "zrh" (context "zrh") sets both "insecure-skip-tls-verify: true" and a certificate-authority(-data); ` +
        'kubectl refuses this combination and this client does not pick one. Remove insecure-skip-tls-verify so that the server is verified with the CA',
    );
  });
});
