import { KubeConfigError } from '../errors.js';
import * as z from 'zod';

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

async function schema() {
  const cluster = z.looseObject({
    server: z.string().min(1),
    'certificate-authority': z.string().optional(),
    'certificate-authority-data': z.string().optional(),
    'insecure-skip-tls-verify': z.boolean().optional(),
    'tls-server-name': z.string().optional(),
  });
  const user = z.looseObject({
    'client-certificate': z.string().optional(),
    'client-certificate-data': z.string().optional(),
    'client-key': z.string().optional(),
    'client-key-data': z.string().optional(),
    token: z.string().optional(),
    tokenFile: z.string().optional(),
  });
  const context = z.looseObject({ cluster: z.string().min(1), user: z.string().optional(), namespace: z.string().optional() });
  return z.looseObject({
    clusters: z.array(z.object({ name: z.string().min(1), cluster })).nullable().transform((v) => v ?? []).default([]),
    users: z.array(z.object({ name: z.string().min(1), user: user.nullable().optional() })).nullable().transform((v) => v ?? []).default([]),
    contexts: z.array(z.object({ name: z.string().min(1), context })).nullable().transform((v) => v ?? []).default([]),
    'current-context': z.string().optional(),
  });
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || '(root)';
}

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
  const parsed = (await schema()).safeParse(doc ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
    throw new KubeConfigError('CONFIG_INVALID', `kubeconfig ${file} is invalid: ${problems.join('; ')}`);
  }
  const cfg = parsed.data;
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
  let user: NonNullable<(typeof cfg.users)[number]['user']> = {};
  if (ctx.user !== undefined) {
    const found = cfg.users.find((u) => u.name === ctx.user);
    if (!found) {
      throw new KubeConfigError('CONFIG_INVALID', `kubeconfig ${file}: context ${JSON.stringify(contextName)} refers to user ${JSON.stringify(ctx.user)}, which users does not define`);
    }
    user = found.user ?? {};
  }
  for (const unsupported of ['exec', 'auth-provider', 'username']) {
    if (user[unsupported] != null) {
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
