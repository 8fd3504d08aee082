import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfigError } from '../errors.js';
import { loadKubeConfig, loadKubeConfigFile } from './load.js';

let dir: string;
const write = (name: string, text: string, mode = 0o600) => {
  const path = join(dir, name);
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
  return path;
};
async function failure(p: Promise<unknown>): Promise<KubeConfigError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KubeConfigError);
  return err as KubeConfigError;
}

/** A kubeconfig whose user `u` has `exec` (YAML flow mapping). */
const withExec = (exec: string, extraUser = '') =>
  `current-context: c\nclusters:\n- name: k\n  cluster: {server: "https://127.0.0.1:1"}\nusers:\n- name: u\n  user:\n    exec: ${exec}\n${extraUser}contexts: [{name: c, context: {cluster: k, user: u, namespace: ci}}]\n`;

const V1 = 'apiVersion: client.authentication.k8s.io/v1';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kube-plugin-'));
  mkdirSync(join(dir, 'bin'));
  // Prints an ExecCredential with a token made of its first argument and $SUFFIX.
  write(
    'bin/token-plugin',
    '#!/bin/sh\nprintf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s%s"}}\' "$1" "$SUFFIX"\n',
    0o755,
  );
  write(
    'bin/cert-plugin',
    `#!/bin/sh\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"CERT PEM","clientKeyData":"KEY PEM"}}'\n`,
    0o755,
  );
  write('bin/failing-plugin', '#!/bin/sh\necho "error: you must be logged in to the server (run kubelogin first)" >&2\nexit 1\n', 0o755);
  write('bin/garbage-plugin', '#!/bin/sh\necho "not json"\n', 0o755);
  write('bin/empty-plugin', `#!/bin/sh\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}'\n`, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('exec credential plugins', () => {
  it('runs the plugin with its args and env and sends its token; a relative command is relative to the kubeconfig', async () => {
    const file = write('exec.yaml', withExec(`{ ${V1}, command: ./bin/token-plugin, args: [tok-], env: [{name: SUFFIX, value: en}] }`));
    const cfg = await loadKubeConfigFile(file);
    expect(cfg).toEqual({ server: 'https://127.0.0.1:1', namespace: 'ci', token: 'tok-en', source: `kubeconfig ${file} (context "c")` });
  });

  it('uses the client certificate and key a plugin prints', async () => {
    const cfg = await loadKubeConfigFile(write('cert.yaml', withExec(`{ ${V1}, command: ${join(dir, 'bin/cert-plugin')} }`)));
    expect(cfg.clientCert).toEqual(Buffer.from('CERT PEM'));
    expect(cfg.clientKey).toEqual(Buffer.from('KEY PEM'));
    expect(cfg.token).toBeUndefined();
  });

  it.each([
    ['fails', 'failing-plugin', 'failed: error: you must be logged in to the server (run kubelogin first)'],
    ['prints no JSON', 'garbage-plugin', 'failed: it did not print an ExecCredential as JSON'],
    ['gives no credentials', 'empty-plugin', 'gave no credentials (neither status.token nor status.clientCertificateData with clientKeyData)'],
  ])('names the plugin, the kubeconfig and the user when the plugin %s', async (_what, plugin, message) => {
    const command = join(dir, 'bin', plugin);
    const file = write('bad-exec.yaml', withExec(`{ ${V1}, command: ${command}, installHint: "Install it: https://example.test/plugin" }`));
    const err = await failure(loadKubeConfigFile(file));
    expect(err.message).toContain(`kubeconfig ${file} (context "c"): user "u": the exec credential plugin "${command}" ${message}`);
    expect(err.message).toMatch(/Install it: https:\/\/example\.test\/plugin$/);
  });

  it('says that a missing command was not found', async () => {
    const file = write('missing.yaml', withExec(`{ ${V1}, command: kubectl-oidc_login-not-installed }`));
    const err = await failure(loadKubeConfigFile(file));
    expect(err.message).toContain('the exec credential plugin "kubectl-oidc_login-not-installed" failed: kubectl-oidc_login-not-installed was not found');
  });

  it.each([
    [
      'an unknown apiVersion',
      '{ apiVersion: client.authentication.k8s.io/v1alpha1, command: x }',
      'has an invalid exec credential plugin: "exec.apiVersion" must be client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1, got "client.authentication.k8s.io/v1alpha1"',
    ],
    ['several problems', '{ command: 7, args: oops, cmd: x }', 'has an invalid exec credential plugin: "exec.cmd" is not an exec plugin field'],
    ['provideClusterInfo', `{ ${V1}, command: x, provideClusterInfo: true }`, 'sets "exec.provideClusterInfo: true", which this client does not support'],
    [
      'interactiveMode Always',
      `{ ${V1}, command: x, interactiveMode: Always }`,
      'sets "exec.interactiveMode: Always", which this client does not support: the plugin is run without a terminal',
    ],
  ])('refuses %s before running anything', async (_what, exec, message) => {
    const file = write('refused.yaml', withExec(exec));
    const err = await failure(loadKubeConfigFile(file));
    expect(err.message).toContain(`kubeconfig ${file}: user "u" (context "c") ${message}`);
  });

  it('reports every problem of an exec section at once', async () => {
    const err = await failure(loadKubeConfigFile(write('many.yaml', withExec('{ command: 7, args: oops }'))));
    expect(err.message).toContain('"exec.command" must be a non-empty string; "exec.apiVersion" must be');
    expect(err.message).toContain('; "exec.args" must be a list of strings');
  });

  it('refuses a plugin next to a static token instead of picking one', async () => {
    const file = write('both.yaml', withExec(`{ ${V1}, command: x }`, '    token: abc\n'));
    const err = await failure(loadKubeConfigFile(file));
    expect(err.message).toContain(`kubeconfig ${file}: user "u" (context "c") sets "exec" and also "token"; this client does not pick one`);
  });
});

describe('a KUBECONFIG list, merged like kubectl', () => {
  const clusterFile = () =>
    write(
      'clusters.yaml',
      'current-context: first\nclusters:\n- name: k\n  cluster: {server: "https://127.0.0.1:1", certificate-authority: ca.crt}\ncontexts:\n- {name: first, context: {cluster: k, user: cert, namespace: one}}\n- {name: plugin, context: {cluster: k, user: exec, namespace: two}}\n',
    );
  const userFile = () =>
    write(
      'users.yaml',
      `current-context: plugin\nclusters:\n- name: k\n  cluster: {server: "https://127.0.0.1:999"}\nusers:\n- name: cert\n  user: {client-certificate: bin/crt, client-key: bin/key}\n- name: exec\n  user:\n    exec: { ${V1}, command: ./bin/token-plugin, args: [merged] }\ncontexts:\n- {name: first, context: {cluster: k, user: exec, namespace: shadowed}}\n`,
    );

  beforeAll(() => {
    write('ca.crt', 'CA PEM');
    write('bin/crt', 'CRT');
    write('bin/key', 'KEY');
  });

  it('takes current-context, clusters and contexts from the first file that defines them, users from the second', async () => {
    const list = `${clusterFile()}:${userFile()}`;
    const cfg = await loadKubeConfig({ env: { KUBECONFIG: list } });
    expect(cfg).toEqual({
      server: 'https://127.0.0.1:1',
      namespace: 'one',
      ca: Buffer.from('CA PEM'),
      clientCert: Buffer.from('CRT'),
      clientKey: Buffer.from('KEY'),
      source: `kubeconfig ${list} (context "first")`,
    });
  });

  it('selects another context of the list, whose user is an exec plugin', async () => {
    const cfg = await loadKubeConfig({ env: { KUBECONFIG: `${clusterFile()}:${userFile()}` }, context: 'plugin' });
    expect(cfg).toMatchObject({ server: 'https://127.0.0.1:1', namespace: 'two', token: 'merged' });
  });

  it('reads --kubeconfig alone, ignoring KUBECONFIG, like kubectl', async () => {
    const err = await failure(loadKubeConfig({ kubeconfig: clusterFile(), env: { KUBECONFIG: userFile() } }));
    expect(err.message).toContain('context "first" refers to user "cert", which users does not define');
  });

  it('names the contexts there are when the one asked for is missing', async () => {
    const err = await failure(loadKubeConfig({ env: { KUBECONFIG: `${clusterFile()}:${userFile()}` }, context: 'prod' }));
    expect(err.message).toContain('contexts has no entry named "prod". Contexts defined: first, plugin');
  });
});
