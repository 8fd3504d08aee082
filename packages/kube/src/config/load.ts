import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { KubeConfigError } from '../errors.js';
import type { KubeConnectionConfig } from './connection.js';
import { mergeKubeConfigs, parseKubeConfigFile, selectContext, type SelectedContext } from './kubeconfig.js';

/** Where `loadKubeConfig` looks; every field defaults to the process's own environment. */
export interface LoadKubeConfigOptions {
  /** Kubeconfig file to read; overrides `KUBECONFIG` and the in-cluster files. */
  readonly kubeconfig?: string;
  /** Context to use instead of `current-context`. */
  readonly context?: string;
  /** Environment to read `KUBECONFIG`, `KUBERNETES_SERVICE_HOST/PORT` and `HOME` from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Folder of the in-cluster service-account files. @default /var/run/secrets/kubernetes.io/serviceaccount */
  readonly serviceAccountDir?: string;
}

/** The default in-cluster service-account folder. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

async function readOrThrow(path: string, what: string, source: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as Error).message})`;
    throw new KubeConfigError('CONFIG_INVALID', `${source}: ${what} file ${path} ${reason}`, { cause: err });
  }
}

/** The connection of a pod's service account (`KUBERNETES_SERVICE_HOST/PORT` and its files). */
export async function loadInClusterConfig(env: NodeJS.ProcessEnv, dir: string = SERVICE_ACCOUNT_DIR): Promise<KubeConnectionConfig> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeConfigError('CONFIG_INVALID', 'in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set');
  }
  const source = 'in-cluster config';
  const tokenFile = `${dir}/token`;
  // Read once now so a missing mount fails here, with the file named; the client re-reads it.
  await readOrThrow(tokenFile, 'service-account token', source);
  const ca = await readOrThrow(`${dir}/ca.crt`, 'CA certificate', source);
  let namespace = 'default';
  try {
    namespace = (await readFile(`${dir}/namespace`, 'utf8')).trim() || 'default';
  } catch {
    // the namespace file is optional (projected volumes may omit it)
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { server: `https://${hostPart}:${port}`, ca, tokenFile, namespace, source };
}

async function resolveFiles(sel: SelectedContext, source: string): Promise<KubeConnectionConfig> {
  const pick = async (data: Buffer | undefined, file: string | undefined, what: string) =>
    data ?? (file === undefined ? undefined : await readOrThrow(file, what, source));
  const ca = await pick(sel.caData, sel.caFile, 'certificate-authority');
  let clientCert = await pick(sel.clientCertData, sel.clientCertFile, 'client-certificate');
  let clientKey = await pick(sel.clientKeyData, sel.clientKeyFile, 'client-key');
  if (sel.tokenFile !== undefined) await readOrThrow(sel.tokenFile, 'tokenFile', source);
  let token = sel.token;
  if (sel.plugin) {
    const { resolvePluginCredentials } = await import(/* webpackMode: "eager" */ './plugin.js');
    const got = await resolvePluginCredentials(sel.plugin, sel.userName ?? 'user', sel.server, `${source}: user ${JSON.stringify(sel.userName)}`);
    token = got.token;
    clientCert = got.clientCert;
    clientKey = got.clientKey;
  }
  const config: { -readonly [K in keyof KubeConnectionConfig]: KubeConnectionConfig[K] } = {
    server: sel.server,
    namespace: sel.namespace,
    source,
  };
  if (sel.insecureSkipTlsVerify) config.insecureSkipTlsVerify = true;
  if (sel.tlsServerName) config.tlsServerName = sel.tlsServerName;
  if (ca) config.ca = ca;
  if (clientCert) config.clientCert = clientCert;
  if (clientKey) config.clientKey = clientKey;
  if (token) config.token = token;
  if (sel.tokenFile) config.tokenFile = sel.tokenFile;
  if (sel.proxyUrl) config.proxyUrl = sel.proxyUrl;
  if (sel.impersonate) config.impersonate = sel.impersonate;
  return config;
}

/**
 * Reads kubeconfig files, merges them as kubectl merges a `KUBECONFIG` list (first definition
 * of a name wins, first current-context wins; missing files of a list are skipped, as kubectl
 * skips them) and resolves the chosen context into a connection.
 */
export async function loadKubeConfigFiles(files: readonly string[], context?: string): Promise<KubeConnectionConfig> {
  const docs = [];
  for (const file of files) {
    if (files.length > 1 && !existsSync(file)) continue;
    const text = await readOrThrow(file, 'kubeconfig', 'kubeconfig');
    docs.push({ file, doc: await parseKubeConfigFile(text.toString('utf8'), file) });
  }
  if (docs.length === 0) {
    throw new KubeConfigError('CONFIG_INVALID', `KUBECONFIG names ${files.join(':')}, and none of these files exists`);
  }
  const set = mergeKubeConfigs(docs);
  const sel = selectContext(set, context);
  return resolveFiles(sel, `kubeconfig ${set.files.join(':')} (context ${JSON.stringify(sel.contextName)})`);
}

/** Reads a kubeconfig file and resolves the chosen context into a connection. */
export async function loadKubeConfigFile(file: string, context?: string): Promise<KubeConnectionConfig> {
  return loadKubeConfigFiles([file], context);
}

/**
 * Finds the API server connection, in this order (kubectl's): `options.kubeconfig`; the files of
 * `KUBECONFIG`, merged; the in-cluster service account when `KUBERNETES_SERVICE_HOST` is set;
 * `~/.kube/config`. `options.context` selects a context of a kubeconfig (an error in-cluster).
 */
export async function loadKubeConfig(options: LoadKubeConfigOptions = {}): Promise<KubeConnectionConfig> {
  const env = options.env ?? process.env;
  if (options.kubeconfig !== undefined) return loadKubeConfigFiles([options.kubeconfig], options.context);
  const list = (env.KUBECONFIG ?? '').split(':').filter((p) => p !== '');
  if (list.length > 0) return loadKubeConfigFiles(list, options.context);
  if (env.KUBERNETES_SERVICE_HOST) {
    if (options.context !== undefined) {
      throw new KubeConfigError(
        'CONFIG_INVALID',
        `context ${JSON.stringify(options.context)} was given, but there is no kubeconfig: KUBECONFIG is not set and the in-cluster service account has no contexts`,
        {
          hint: 'Pass --kubeconfig or set KUBECONFIG, or leave out the context',
        },
      );
    }
    return loadInClusterConfig(env, options.serviceAccountDir);
  }
  const home = env.HOME ?? homedir();
  const file = `${home}/.kube/config`;
  if (!existsSync(file)) {
    throw new KubeConfigError(
      'CONFIG_INVALID',
      `no Kubernetes configuration found: KUBECONFIG is not set, KUBERNETES_SERVICE_HOST is not set (not in a pod), and ${file} does not exist`,
      {
        hint: 'Run inside a pod with a service account, or set KUBECONFIG',
      },
    );
  }
  return loadKubeConfigFiles([file], options.context);
}
