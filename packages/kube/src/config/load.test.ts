import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfigError } from '../errors.js';
import { impersonationHeaders } from './connection.js';
import { loadInClusterConfig, loadKubeConfig, loadKubeConfigFile } from './load.js';

let dir: string;
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function failure(p: Promise<unknown>): Promise<KubeConfigError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KubeConfigError);
  return err as KubeConfigError;
}

const twoContexts = `
apiVersion: v1
kind: Config
current-context: admin
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority: ca.crt
- name: insecure
  cluster:
    server: https://127.0.0.1:7443
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    client-certificate-data: ${b64('CERT')}
    client-key-data: ${b64('KEY')}
- name: runner
  user:
    token: abc.def
- name: rotating
  user:
    tokenFile: token
contexts:
- name: admin
  context: { cluster: local, user: admin }
- name: runner
  context: { cluster: insecure, user: runner, namespace: ci }
- name: rotating
  context: { cluster: local, user: rotating, namespace: ci }
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kube-config-'));
  write('ca.crt', 'CA PEM');
  write('token', 'file-token\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadKubeConfigFile', () => {
  it('uses current-context with client certificate data and a CA file next to the kubeconfig', async () => {
    const file = write('two.yaml', twoContexts);
    const cfg = await loadKubeConfigFile(file);
    expect(cfg).toEqual({
      server: 'https://127.0.0.1:6443',
      namespace: 'default',
      source: `kubeconfig ${file} (context "admin")`,
      ca: Buffer.from('CA PEM'),
      clientCert: Buffer.from('CERT'),
      clientKey: Buffer.from('KEY'),
    });
  });

  it('selects an explicit context with a token, a namespace and insecure-skip-tls-verify', async () => {
    const cfg = await loadKubeConfigFile(write('two.yaml', twoContexts), 'runner');
    expect(cfg).toMatchObject({ server: 'https://127.0.0.1:7443', namespace: 'ci', token: 'abc.def', insecureSkipTlsVerify: true });
    expect(cfg.ca).toBeUndefined();
  });

  it('keeps tokenFile as a path so the client can re-read it', async () => {
    const cfg = await loadKubeConfigFile(write('two.yaml', twoContexts), 'rotating');
    expect(cfg.tokenFile).toBe(join(dir, 'token'));
    expect(cfg.token).toBeUndefined();
  });

  it('reads a JSON kubeconfig', async () => {
    const json = JSON.stringify({
      'current-context': 'c',
      clusters: [{ name: 'k', cluster: { server: 'https://127.0.0.1:1' } }],
      contexts: [{ name: 'c', context: { cluster: 'k' } }],
    });
    expect(await loadKubeConfigFile(write('k.json', json))).toMatchObject({ server: 'https://127.0.0.1:1', namespace: 'default' });
  });

  it.each([
    ['an unknown context', twoContexts, 'nope', 'contexts has no entry named "nope"'],
    [
      'a context without a cluster definition',
      twoContexts.replace('cluster: insecure,', 'cluster: gone,'),
      'runner',
      'context "runner" refers to cluster "gone", which clusters does not define',
    ],
    [
      'a context without a user definition',
      twoContexts.replace('user: runner,', 'user: ghost,'),
      'runner',
      'context "runner" refers to user "ghost", which users does not define',
    ],
    [
      'a cluster without server',
      twoContexts.replace('server: https://127.0.0.1:7443', 'proxy-url: x'),
      'runner',
      'clusters[1].cluster.server: expected string, got nothing',
    ],
    ['no current-context', twoContexts.replace('current-context: admin', ''), undefined, 'has no current-context and no context was given'],
    ['a certificate without a key', twoContexts.replace(/client-key-data: .*/, ''), 'admin', 'user "admin" has a client certificate but no client-key(-data)'],
    ['a missing CA file', twoContexts.replace('ca.crt', 'missing-ca.crt'), 'admin', `certificate-authority file ${'DIR'}/missing-ca.crt does not exist`],
  ])('names the file and the field for %s', async (_what, text, context, message) => {
    const file = write('bad.yaml', text);
    const err = await failure(loadKubeConfigFile(file, context));
    expect(err.message).toContain(`kubeconfig ${file}`);
    expect(err.message).toContain(message.replace('DIR', dir));
  });

  it('lists every schema problem at once', async () => {
    const file = write('bad.yaml', 'clusters:\n- name: a\n  cluster: {server: 1}\ncontexts:\n- context: {cluster: a}\n');
    const err = await failure(loadKubeConfigFile(file));
    expect(err.message).toContain('clusters[0].cluster.server: expected string, got number');
    expect(err.message).toContain('contexts[0].name: expected string, got nothing');
  });

  const oneUser = (user: string, cluster = '') =>
    `current-context: c\nclusters:\n- name: k\n  cluster:\n    server: "https://127.0.0.1:1"\n${cluster ? `    ${cluster}\n` : ''}users:\n- name: u\n  user:\n    ${user}\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n`;

  it.each([
    ['username', 'username: admin'],
    ['password', 'password: hunter2'],
  ])('refuses basic authentication (%s) and says what is supported', async (field, user) => {
    const file = write('auth.yaml', oneUser(user));
    const err = await failure(loadKubeConfigFile(file));
    expect(err.code).toBe('CONFIG_UNSUPPORTED_AUTH');
    expect(err.message).toBe(
      `kubeconfig ${file}: user "u" (context "c") sets "${field}" (basic authentication), which this client does not support: ` +
        'requests would be sent without these credentials (the API server stopped accepting passwords in Kubernetes 1.19). ' +
        'Supported: client-certificate(-data) with client-key(-data), token, tokenFile, an exec credential plugin, an auth provider (oidc), or none',
    );
  });

  it('refuses a misspelt user field instead of connecting without its credentials', async () => {
    const file = write('typo.yaml', oneUser('tokenfile: token'));
    const err = await failure(loadKubeConfigFile(file));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(
      `kubeconfig ${file}: user "u" (context "c") sets "tokenfile", which is not a kubeconfig user field; kubectl would ignore it and so would this client. Remove it or correct its name (user fields: client-certificate,`,
    );
  });

  it('refuses a misspelt cluster field instead of connecting without its CA', async () => {
    const file = write('typo.yaml', oneUser('token: abc.def', 'certificate-authorty: ca.crt'));
    const err = await failure(loadKubeConfigFile(file));
    expect(err.message).toContain(`kubeconfig ${file}: cluster "k" (context "c") sets "certificate-authorty", which is not a kubeconfig cluster field`);
  });

  it('accepts extensions and disable-compression, which change nothing this client does', async () => {
    const cfg = await loadKubeConfigFile(write('ext.yaml', oneUser('token: abc.def\n    extensions: [{name: x, extension: {}}]', 'disable-compression: true')));
    expect(cfg.token).toBe('abc.def');
  });

  it('refuses an auth provider @kubernetes/client-node does not implement', async () => {
    const file = write('ap.yaml', oneUser('auth-provider: { name: openstack, config: {} }'));
    const err = await failure(loadKubeConfigFile(file));
    expect(err.code).toBe('CONFIG_UNSUPPORTED_AUTH');
    expect(err.message).toContain(
      `kubeconfig ${file}: user "u" (context "c") sets "auth-provider" with name "openstack", which @kubernetes/client-node does not implement (it implements oidc, gcp, azure)`,
    );
  });

  it('reads impersonation (as, as-uid, as-groups, as-user-extra) for the Impersonate-* headers', async () => {
    const file = write(
      'as.yaml',
      oneUser(
        'token: abc.def\n    as: system:serviceaccount:ci:reader\n    as-uid: "1234"\n    as-groups: [team-a, team-b]\n    as-user-extra: { scopes: [view, edit], empty: [] }',
      ),
    );
    const cfg = await loadKubeConfigFile(file);
    expect(cfg.impersonate).toEqual({
      user: 'system:serviceaccount:ci:reader',
      uid: '1234',
      groups: ['team-a', 'team-b'],
      extra: { scopes: ['view', 'edit'] },
    });
    expect(impersonationHeaders(cfg.impersonate)).toEqual({
      'Impersonate-User': 'system:serviceaccount:ci:reader',
      'Impersonate-Uid': '1234',
      'Impersonate-Group': ['team-a', 'team-b'],
      'Impersonate-Extra-scopes': ['view', 'edit'],
    });
  });

  it.each([
    ['as-groups', 'as-groups: [system:masters]'],
    ['as-uid', 'as-uid: "7"'],
    ['as-user-extra', 'as-user-extra: { scopes: [view] }'],
  ])('refuses %s without as, as client-go does', async (field, setting) => {
    const file = write('as-only.yaml', oneUser(`token: abc.def\n    ${setting}`));
    const err = await failure(loadKubeConfigFile(file));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toBe(
      `kubeconfig ${file}: user "u" (context "c") sets ${field} without "as"; impersonating groups, a uid or extras needs a user to impersonate. Add "as: <user>" or remove the other as-* fields`,
    );
  });

  it.each([
    ['an empty as', 'as: ""'],
    ['empty as-groups', 'as-groups: []'],
    ['an empty as-user-extra', 'as-user-extra: {}'],
  ])('accepts %s, which kubectl ignores too', async (_what, setting) => {
    const cfg = await loadKubeConfigFile(write('as-empty.yaml', oneUser(`token: abc.def\n    ${setting}`)));
    expect(cfg.token).toBe('abc.def');
  });

  it('reads an http or https proxy-url', async () => {
    for (const url of ['http://127.0.0.1:3128', 'https://user:pa%40ss@proxy.example:8443']) {
      const cfg = await loadKubeConfigFile(write('proxy.yaml', oneUser('token: abc.def', `proxy-url: ${url}`)));
      expect(cfg.proxyUrl).toBe(url);
    }
  });

  it.each([
    ['socks5://127.0.0.1:1080', 'its scheme socks5 is not supported (http and https proxies are)'],
    ['not a url', 'it is not a URL'],
    ['http://127.0.0.1:3128/path', 'a proxy URL has no path'],
  ])('refuses proxy-url %s, saying why, instead of connecting directly', async (url, reason) => {
    const file = write('proxy-bad.yaml', oneUser('token: abc.def', `proxy-url: ${url}`));
    const err = await failure(loadKubeConfigFile(file));
    expect(err.code).toBe('CONFIG_UNSUPPORTED');
    expect(err.message).toBe(
      `kubeconfig ${file}: cluster "k" (context "c") sets "proxy-url: ${url}", which this client cannot use: ${reason}. ` +
        'Use an http:// or https:// proxy (CONNECT), or remove proxy-url where the API server is reachable directly',
    );
  });

  it.each([
    ['certificate-authority', 'certificate-authority: ca.crt'],
    ['certificate-authority-data', `certificate-authority-data: ${b64('CA PEM')}`],
  ])('refuses insecure-skip-tls-verify together with %s, like kubectl', async (_what, ca) => {
    const file = write('insecure-ca.yaml', oneUser('token: abc.def', `insecure-skip-tls-verify: true\n    ${ca}`));
    const err = await failure(loadKubeConfigFile(file));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toBe(
      `kubeconfig ${file}: cluster "k" (context "c") sets both "insecure-skip-tls-verify: true" and a certificate-authority(-data); ` +
        'kubectl refuses this combination and this client does not pick one. Remove insecure-skip-tls-verify so that the server is verified with the CA',
    );
  });

  it('verifies with the CA when insecure-skip-tls-verify is false, and passes tls-server-name on', async () => {
    const cfg = await loadKubeConfigFile(
      write('ca.yaml', oneUser('token: abc.def', 'insecure-skip-tls-verify: false\n    certificate-authority: ca.crt\n    tls-server-name: kubernetes')),
    );
    expect(cfg).toMatchObject({ ca: Buffer.from('CA PEM'), tlsServerName: 'kubernetes' });
    expect(cfg.insecureSkipTlsVerify).toBeUndefined();
  });

  it('reports YAML syntax errors with the file name', async () => {
    const file = write('broken.yaml', 'clusters: [\n');
    expect((await failure(loadKubeConfigFile(file))).message).toMatch(new RegExp(`^kubeconfig ${file} is not valid YAML`));
  });
});

describe('loadKubeConfig', () => {
  it('uses KUBECONFIG before the in-cluster files and skips a missing file of the list, like kubectl', async () => {
    const file = write('two.yaml', twoContexts);
    const cfg = await loadKubeConfig({ env: { KUBECONFIG: `${file}:/nonexistent`, KUBERNETES_SERVICE_HOST: '10.0.0.1' }, context: 'runner' });
    expect(cfg.token).toBe('abc.def');
    expect(cfg.source).toBe(`kubeconfig ${file} (context "runner")`);
  });

  it('says so when no file of the KUBECONFIG list exists', async () => {
    const err = await failure(loadKubeConfig({ env: { KUBECONFIG: '/nonexistent/a:/nonexistent/b' } }));
    expect(err.message).toBe('KUBECONFIG names /nonexistent/a:/nonexistent/b, and none of these files exists');
  });

  it('refuses a context where the connection is the in-cluster service account', async () => {
    const err = await failure(loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, context: 'prod' }));
    expect(err.message).toContain('context "prod" was given, but there is no kubeconfig');
  });

  it('falls back to ~/.kube/config and says what it looked for when nothing exists', async () => {
    const err = await failure(loadKubeConfig({ env: { HOME: dir } }));
    expect(err.message).toContain(`KUBECONFIG is not set, KUBERNETES_SERVICE_HOST is not set (not in a pod), and ${dir}/.kube/config does not exist`);
  });

  it('uses the in-cluster service account when KUBERNETES_SERVICE_HOST is set', async () => {
    const sa = mkdtempSync(join(dir, 'sa-'));
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'ca.crt'), 'CLUSTER CA');
    writeFileSync(join(sa, 'namespace'), 'ci\n');
    const cfg = await loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: sa });
    expect(cfg).toEqual({
      server: 'https://[fd00::1]:443',
      ca: Buffer.from('CLUSTER CA'),
      tokenFile: join(sa, 'token'),
      namespace: 'ci',
      source: 'in-cluster config',
    });
  });
});

describe('loadInClusterConfig', () => {
  it('names the missing service-account file', async () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    const err = await failure(loadInClusterConfig({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '6443' }, empty));
    expect(err.message).toBe(`in-cluster config: service-account token file ${empty}/token does not exist`);
  });

  it('needs both service host and port', async () => {
    const err = await failure(loadInClusterConfig({ KUBERNETES_SERVICE_HOST: '127.0.0.1' }));
    expect(err.message).toContain('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set');
  });
});
