/**
 * A kubeconfig as operators have them: the user is an exec credential plugin (here a script
 * printing an ExecCredential with a ServiceAccount token, as kubelogin or `aws eks get-token`
 * print theirs), split over two files of KUBECONFIG, with several contexts. The bundled
 * `zfs-clone` CLI and the bundled hook each run as their own process against the real API server
 * with it, under the hook's least-privilege Role.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createTestNamespace, serviceAccountKubeConfig, type TestNamespace } from '../../cluster/harness.js';
import { cleanupJobInput, serializeHookInput } from '../../simulator/stdin.js';
import { DEFAULT_HOOK_PATH } from '../../simulator/runner.js';
import { ensureHookBundle, HOOK_ROLE } from '../hook/helpers.js';
import { CLI, ensureCliBundle } from './cli-bundle.js';

describe('an exec credential plugin in a two-file KUBECONFIG', () => {
  let ns: TestNamespace;
  let dir: string;
  let kubeconfigs: string;
  let calls: string;

  beforeAll(async () => {
    ensureCliBundle();
    ensureHookBundle();
    ns = await createTestNamespace('exec-plugin');
    const sa = await serviceAccountKubeConfig(ns.name, HOOK_ROLE);
    const token = sa.getCurrentUser()?.token;
    const cluster = sa.getCurrentCluster();
    if (!token || !cluster?.caFile) throw new Error('the ServiceAccount kubeconfig has no token or CA file');
    dir = mkdtempSync(join(tmpdir(), 'exec-plugin-'));
    calls = join(dir, 'plugin-calls');
    writeFileSync(join(dir, 'sa-token'), token, { mode: 0o600 });
    // The plugin: logs each call with its arguments, prints the token file named by its argument.
    writeFileSync(
      join(dir, 'token-plugin'),
      `#!/bin/sh\necho "$*" >> '${calls}'\n[ -f "$1" ] || { echo "no credential at $1: log in first" >&2; exit 1; }\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$(cat "$1")"\n`,
      { mode: 0o755 },
    );
    const clusters = join(dir, 'clusters.yaml');
    const users = join(dir, 'users.yaml');
    writeFileSync(
      clusters,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'ci',
        clusters: [{ name: 'zrh', cluster: { server: cluster.server, 'certificate-authority': cluster.caFile } }],
        contexts: [
          { name: 'ci', context: { cluster: 'zrh', user: 'oidc', namespace: ns.name } },
          { name: 'logged-out', context: { cluster: 'zrh', user: 'logged-out', namespace: ns.name } },
        ],
      }),
    );
    writeFileSync(
      users,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        users: [
          {
            name: 'oidc',
            user: {
              exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './token-plugin', args: [join(dir, 'sa-token')], interactiveMode: 'Never' },
            },
          },
          {
            name: 'logged-out',
            user: {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1',
                command: './token-plugin',
                args: [join(dir, 'missing')],
                installHint: 'Log in with: example-login',
              },
            },
          },
        ],
      }),
    );
    kubeconfigs = `${clusters}:${users}`;
  });

  afterAll(async () => {
    await ns?.delete();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function zfsClone(args: string[]) {
    const r = spawnSync(process.execPath, [CLI, ...args], {
      env: { PATH: process.env['PATH'], HOME: dir, KUBECONFIG: kubeconfigs },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('zfs-clone lists the namespace with the plugin token of the current context', () => {
    const r = zfsClone(['list', '-o', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ namespace: ns.name, caches: [], problems: [] });
    expect(readFileSync(calls, 'utf8')).toContain(join(dir, 'sa-token'));
  });

  it('zfs-clone --context selects the other context, whose plugin fails, and says why', () => {
    const r = zfsClone(['--context', 'logged-out', 'list']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `error: kubeconfig ${kubeconfigs} (context "logged-out"): user "logged-out": the exec credential plugin "${dir}/token-plugin" failed: no credential at ${dir}/missing: log in first. Log in with: example-login\n`,
    );
  });

  it('zfs-clone --kubeconfig reads that one file alone, as kubectl does', () => {
    const r = zfsClone(['--kubeconfig', kubeconfigs.split(':')[0] as string, 'list']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('context "ci" refers to user "oidc", which users does not define');
  });

  it('zfs-clone reads as the identity of the plugin token (its Role may read the ConfigMaps of the namespace)', () => {
    const r = zfsClone(['status', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: Cache "nope" does not exist in namespace "${ns.name}". See \`zfs-clone list\`.\n`);
  });

  it('the hook runs cleanup_job with the same kubeconfig', () => {
    const before = readFileSync(calls, 'utf8').split('\n').length;
    const responseFile = join(dir, 'response.json');
    writeFileSync(responseFile, '');
    const r = spawnSync(process.execPath, [DEFAULT_HOOK_PATH], {
      input: serializeHookInput(cleanupJobInput(responseFile, null)),
      env: {
        PATH: process.env['PATH'],
        HOME: dir,
        KUBECONFIG: kubeconfigs,
        ACTIONS_RUNNER_POD_NAME: 'runner-exec-plugin',
        ZRH_LOG_LEVEL: 'debug',
        ZRH_CODE_CACHE_DIR: 'off',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(readFileSync(calls, 'utf8').split('\n').length).toBe(before + 1);
  });

  it('the hook fails before any request when the plugin cannot give a credential', () => {
    const responseFile = join(dir, 'response-2.json');
    writeFileSync(responseFile, '');
    const broken = join(dir, 'logged-out-first.yaml');
    writeFileSync(broken, readFileSync(kubeconfigs.split(':')[0] as string, 'utf8').replace('current-context: ci', 'current-context: logged-out'));
    const r = spawnSync(process.execPath, [DEFAULT_HOOK_PATH], {
      input: serializeHookInput(cleanupJobInput(responseFile, null)),
      env: {
        PATH: process.env['PATH'],
        HOME: dir,
        KUBECONFIG: `${broken}:${kubeconfigs.split(':')[1]}`,
        ACTIONS_RUNNER_POD_NAME: 'runner-exec-plugin',
        ZRH_CODE_CACHE_DIR: 'off',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toContain(
      `user "logged-out": the exec credential plugin "${dir}/token-plugin" failed: no credential at ${dir}/missing: log in first`,
    );
  });
});
