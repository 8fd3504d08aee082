import * as c from '../check.js';
import { KubeConfigError } from '../errors.js';

/**
 * A kubeconfig reduced to the one context in use. File references are still paths (resolved
 * against the kubeconfig's folder); `readKubeConfigFile` turns them into contents.
 */
export interface SelectedContext {
  readonly contextName: string;
  readonly server: string;
  readonly namespace: string;
  readonly insecureSkipTlsVerify: boolean;
  readonly tlsServerName?: string;
  readonly caData?: Buffer;
  readonly caFile?: string;
  readonly clientCertData?: Buffer;
  readonly clientCertFile?: string;
  readonly clientKeyData?: Buffer;
  readonly clientKeyFile?: string;
  readonly token?: string;
  readonly tokenFile?: string;
}

const SUPPORTED_AUTH =
  'Supported: client-certificate(-data) with client-key(-data), token, tokenFile, or none. ' +
  'Mint a token (kubectl create token <serviceaccount>) and put it in the kubeconfig as `token:`';

const optionalString = c.optional(c.string());
const listOf = <T>(check: c.Check<T>) => c.nullish(c.array(check), []);

const clusterSchema = c.object({
  server: c.string({ min: 1 }),
  'certificate-authority': optionalString,
  'certificate-authority-data': optionalString,
  'insecure-skip-tls-verify': c.optional(c.boolean()),
  'tls-server-name': optionalString,
});
const userSchema = c.object({
  'client-certificate': optionalString,
  'client-certificate-data': optionalString,
  'client-key': optionalString,
  'client-key-data': optionalString,
  token: optionalString,
  tokenFile: optionalString,
});
const contextSchema = c.object({ cluster: c.string({ min: 1 }), user: optionalString, namespace: optionalString });
const kubeConfigSchema = c.object({
  clusters: listOf(c.object({ name: c.string({ min: 1 }), cluster: clusterSchema })),
  users: listOf(c.object({ name: c.string({ min: 1 }), user: c.nullish(userSchema) })),
  contexts: listOf(c.object({ name: c.string({ min: 1 }), context: contextSchema })),
  'current-context': optionalString,
});

const b64 = (value: string): Buffer => Buffer.from(value, 'base64');

function resolvePath(file: string, baseDir: string): string {
  return file.startsWith('/') ? file : `${baseDir}/${file}`;
}

/**
 * Parses kubeconfig text (YAML or JSON) and selects `context` (default: `current-context`).
 * Pure apart from loading the YAML parser; `file` is only used in messages and to resolve
 * relative paths.
 */
export async function parseKubeConfig(text: string, file: string, context?: string): Promise<SelectedContext> {
  let doc: unknown;
  try {
    doc = text.trimStart().startsWith('{') ? JSON.parse(text) : (await import(/* webpackMode: "eager" */ 'yaml')).parse(text);
  } catch (err) {
    throw new KubeConfigError('CONFIG_INVALID', `kubeconfig ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const parsed = c.parse(kubeConfigSchema, doc ?? {});
  if (!parsed.ok) {
    throw new KubeConfigError('CONFIG_INVALID', `kubeconfig ${file} is invalid: ${c.formatIssues(parsed.issues).join('; ')}`);
  }
  const cfg = parsed.value;
  const contextName = context ?? cfg['current-context'];
  if (!contextName) {
    throw new KubeConfigError('CONFIG_INVALID', `kubeconfig ${file} has no current-context and no context was given`, {
      hint: `Set current-context or pass a context (${cfg.contexts.map((c) => c.name).join(', ') || 'the file defines none'})`,
    });
  }
  const ctx = cfg.contexts.find((c) => c.name === contextName)?.context;
  if (!ctx) {
    throw new KubeConfigError('CONFIG_INVALID', `kubeconfig ${file}: contexts has no entry named ${JSON.stringify(contextName)}`);
  }
  const cluster = cfg.clusters.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster) {
    throw new KubeConfigError('CONFIG_INVALID', `kubeconfig ${file}: context ${JSON.stringify(contextName)} refers to cluster ${JSON.stringify(ctx.cluster)}, which clusters does not define`);
  }
  let user: c.Output<typeof userSchema> = {};
  if (ctx.user !== undefined) {
    const found = cfg.users.find((u) => u.name === ctx.user);
    if (!found) {
      throw new KubeConfigError('CONFIG_INVALID', `kubeconfig ${file}: context ${JSON.stringify(contextName)} refers to user ${JSON.stringify(ctx.user)}, which users does not define`);
    }
    user = found.user ?? {};
  }
  for (const unsupported of ['exec', 'auth-provider', 'username']) {
    if ((user as Record<string, unknown>)[unsupported] != null) {
      throw new KubeConfigError('CONFIG_UNSUPPORTED_AUTH', `kubeconfig ${file}: user ${JSON.stringify(ctx.user)} uses "${unsupported}" authentication, which this client does not support`, { hint: SUPPORTED_AUTH });
    }
  }
  const hasCert = user['client-certificate'] !== undefined || user['client-certificate-data'] !== undefined;
  const hasKey = user['client-key'] !== undefined || user['client-key-data'] !== undefined;
  if (hasCert !== hasKey) {
    throw new KubeConfigError('CONFIG_INVALID', `kubeconfig ${file}: user ${JSON.stringify(ctx.user)} has a client ${hasCert ? 'certificate but no client-key(-data)' : 'key but no client-certificate(-data)'}`);
  }
  const base = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) || '/' : '.';
  const file_ = (v: string | undefined) => (v === undefined ? undefined : resolvePath(v, base));
  const data = (v: string | undefined) => (v === undefined ? undefined : b64(v));
  return dropUndefined({
    contextName,
    server: cluster.server.replace(/\/+$/, ''),
    namespace: ctx.namespace || 'default',
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] ?? false,
    tlsServerName: cluster['tls-server-name'],
    caData: data(cluster['certificate-authority-data']),
    caFile: cluster['certificate-authority-data'] ? undefined : file_(cluster['certificate-authority']),
    clientCertData: data(user['client-certificate-data']),
    clientCertFile: user['client-certificate-data'] ? undefined : file_(user['client-certificate']),
    clientKeyData: data(user['client-key-data']),
    clientKeyFile: user['client-key-data'] ? undefined : file_(user['client-key']),
    token: user.token,
    tokenFile: user.token ? undefined : file_(user.tokenFile),
  });
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
