import { dirname, isAbsolute, join } from 'node:path';
import { check as c } from '@zfs-runner-hooks/vocabulary';
import { KubeConfigError } from '../errors.js';
import { checkProxyUrl } from '../proxy-tunnel.js';
import type { Impersonation } from './connection.js';
import { checkFields, checkPlugin, type CredentialPlugin } from './fields.js';

/**
 * A kubeconfig reduced to the one context in use. File references are absolute paths (resolved
 * against the folder of the file that defined the entry); `load.ts` turns them into contents.
 */
export interface SelectedContext {
  readonly contextName: string;
  /** The user entry's name, for messages and the credential plugin. */
  readonly userName?: string;
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
  /** An exec credential plugin or auth provider: resolved by `@kubernetes/client-node` (`plugin.ts`). */
  readonly plugin?: CredentialPlugin;
  /** The cluster's `proxy-url`, checked (http or https). */
  readonly proxyUrl?: string;
  /** The user's `as`, `as-uid`, `as-groups`, `as-user-extra`. */
  readonly impersonate?: Impersonation;
}

const optionalString = c.optional(c.string());
const listOf = <T>(check: c.Check<T>) => c.nullish(c.array(check), []);
const looseObject = c.record(c.unknown());

const clusterSchema = c.object({
  server: c.string({ min: 1 }),
  'certificate-authority': optionalString,
  'certificate-authority-data': optionalString,
  'insecure-skip-tls-verify': c.optional(c.boolean()),
  'tls-server-name': optionalString,
  'proxy-url': optionalString,
});
const userSchema = c.object({
  'client-certificate': optionalString,
  'client-certificate-data': optionalString,
  'client-key': optionalString,
  'client-key-data': optionalString,
  token: optionalString,
  tokenFile: optionalString,
  exec: c.optional(looseObject),
  'auth-provider': c.optional(looseObject),
  as: optionalString,
  'as-uid': optionalString,
  'as-groups': c.nullish(c.array(c.string())),
  'as-user-extra': c.nullish(c.record(c.array(c.string()))),
});
const contextSchema = c.object({ cluster: c.string({ min: 1 }), user: optionalString, namespace: optionalString });
const kubeConfigSchema = c.object({
  clusters: listOf(c.object({ name: c.string({ min: 1 }), cluster: clusterSchema })),
  users: listOf(c.object({ name: c.string({ min: 1 }), user: c.nullish(userSchema) })),
  contexts: listOf(c.object({ name: c.string({ min: 1 }), context: contextSchema })),
  'current-context': optionalString,
});

type Cluster = c.Output<typeof clusterSchema>;
type User = c.Output<typeof userSchema>;
type Context = c.Output<typeof contextSchema>;

/** An entry of a kubeconfig with the file it came from (for messages and relative paths). */
interface Entry<T> {
  readonly value: T;
  readonly file: string;
}

/** One or more kubeconfig files merged as kubectl merges a `KUBECONFIG` list. */
export interface KubeConfigSet {
  /** The files, in order (`a:b` in messages). */
  readonly files: readonly string[];
  readonly currentContext?: string;
  readonly clusters: ReadonlyMap<string, Entry<Cluster>>;
  readonly users: ReadonlyMap<string, Entry<User>>;
  readonly contexts: ReadonlyMap<string, Entry<Context>>;
}

/** Parses one kubeconfig file's text (YAML or JSON) and checks its shape. */
export async function parseKubeConfigFile(text: string, file: string): Promise<c.Output<typeof kubeConfigSchema>> {
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
  return parsed.value;
}

/**
 * Merges parsed files as kubectl does: the first file that defines a cluster, user or context
 * name wins, and so does the first `current-context` that is set.
 */
export function mergeKubeConfigs(docs: readonly { readonly file: string; readonly doc: c.Output<typeof kubeConfigSchema> }[]): KubeConfigSet {
  const clusters = new Map<string, Entry<Cluster>>();
  const users = new Map<string, Entry<User>>();
  const contexts = new Map<string, Entry<Context>>();
  let currentContext: string | undefined;
  for (const { file, doc } of docs) {
    currentContext ||= doc['current-context'] || undefined;
    for (const e of doc.clusters) if (!clusters.has(e.name)) clusters.set(e.name, { value: e.cluster, file });
    for (const e of doc.users) if (!users.has(e.name)) users.set(e.name, { value: e.user ?? {}, file });
    for (const e of doc.contexts) if (!contexts.has(e.name)) contexts.set(e.name, { value: e.context, file });
  }
  return { files: docs.map((d) => d.file), clusters, users, contexts, ...(currentContext !== undefined && { currentContext }) };
}

const b64 = (value: string): Buffer => Buffer.from(value, 'base64');

/** A path of a kubeconfig entry, relative to the folder of the file that defined it (kubectl's rule). */
function resolvePath(path: string, file: string): string {
  return isAbsolute(path) ? path : join(dirname(file), path);
}

/** Selects `context` (default: `current-context`) of a merged set and checks every field of its cluster and user. */
export function selectContext(set: KubeConfigSet, context?: string): SelectedContext {
  const files = set.files.join(':');
  const contextName = context ?? set.currentContext;
  if (!contextName) {
    throw new KubeConfigError('CONFIG_INVALID', `kubeconfig ${files} has no current-context and no context was given`, {
      hint: `Set current-context or pass a context (${[...set.contexts.keys()].join(', ') || 'the file defines none'})`,
    });
  }
  const ctxEntry = set.contexts.get(contextName);
  if (!ctxEntry) {
    throw new KubeConfigError('CONFIG_INVALID', `kubeconfig ${files}: contexts has no entry named ${JSON.stringify(contextName)}`, {
      hint: `Contexts defined: ${[...set.contexts.keys()].join(', ') || 'none'}`,
    });
  }
  const ctx = ctxEntry.value;
  const clusterEntry = set.clusters.get(ctx.cluster);
  if (!clusterEntry) {
    throw new KubeConfigError(
      'CONFIG_INVALID',
      `kubeconfig ${ctxEntry.file}: context ${JSON.stringify(contextName)} refers to cluster ${JSON.stringify(ctx.cluster)}, which clusters does not define`,
    );
  }
  let userEntry: Entry<User> = { value: {}, file: ctxEntry.file };
  if (ctx.user !== undefined) {
    const found = set.users.get(ctx.user);
    if (!found) {
      throw new KubeConfigError(
        'CONFIG_INVALID',
        `kubeconfig ${ctxEntry.file}: context ${JSON.stringify(contextName)} refers to user ${JSON.stringify(ctx.user)}, which users does not define`,
      );
    }
    userEntry = found;
  }
  const cluster = clusterEntry.value;
  const user = userEntry.value;
  const inContext = `(context ${JSON.stringify(contextName)})`;
  const clusterName = `cluster ${JSON.stringify(ctx.cluster)} ${inContext}`;
  const userName = `user ${JSON.stringify(ctx.user)} ${inContext}`;
  checkFields('cluster', cluster, clusterName, clusterEntry.file);
  checkFields('user', user, userName, userEntry.file);
  if (cluster['insecure-skip-tls-verify'] && (cluster['certificate-authority'] || cluster['certificate-authority-data'])) {
    // client-go: "specifying a root certificates file with the insecure flag is not allowed".
    throw new KubeConfigError(
      'CONFIG_INVALID',
      `kubeconfig ${clusterEntry.file}: ${clusterName} sets both "insecure-skip-tls-verify: true" and a certificate-authority(-data); kubectl refuses this combination and this client does not pick one`,
      { hint: 'Remove insecure-skip-tls-verify so that the server is verified with the CA' },
    );
  }
  const hasCert = user['client-certificate'] !== undefined || user['client-certificate-data'] !== undefined;
  const hasKey = user['client-key'] !== undefined || user['client-key-data'] !== undefined;
  if (hasCert !== hasKey) {
    throw new KubeConfigError(
      'CONFIG_INVALID',
      `kubeconfig ${userEntry.file}: user ${JSON.stringify(ctx.user)} has a client ${hasCert ? 'certificate but no client-key(-data)' : 'key but no client-certificate(-data)'}`,
    );
  }
  const plugin = checkPlugin(user, userName, userEntry.file, (path) => resolvePath(path, userEntry.file));
  const proxyUrl = cluster['proxy-url'] || undefined;
  if (proxyUrl !== undefined) {
    const proxy = checkProxyUrl(proxyUrl);
    if (!proxy.ok) {
      throw new KubeConfigError(
        'CONFIG_UNSUPPORTED',
        `kubeconfig ${clusterEntry.file}: ${clusterName} sets "proxy-url: ${proxyUrl}", which this client cannot use: ${proxy.reason}`,
        {
          hint: 'Use an http:// or https:// proxy (CONNECT), or remove proxy-url where the API server is reachable directly',
        },
      );
    }
  }
  const impersonate = impersonation(user, userName, userEntry.file);
  const clusterFile = (v: string | undefined) => (v === undefined ? undefined : resolvePath(v, clusterEntry.file));
  const userFile = (v: string | undefined) => (v === undefined ? undefined : resolvePath(v, userEntry.file));
  const data = (v: string | undefined) => (v === undefined ? undefined : b64(v));
  return dropUndefined({
    contextName,
    userName: ctx.user,
    server: cluster.server.replace(/\/+$/, ''),
    namespace: ctx.namespace || 'default',
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] ?? false,
    tlsServerName: cluster['tls-server-name'],
    caData: data(cluster['certificate-authority-data']),
    caFile: cluster['certificate-authority-data'] ? undefined : clusterFile(cluster['certificate-authority']),
    clientCertData: data(user['client-certificate-data']),
    clientCertFile: user['client-certificate-data'] ? undefined : userFile(user['client-certificate']),
    clientKeyData: data(user['client-key-data']),
    clientKeyFile: user['client-key-data'] ? undefined : userFile(user['client-key']),
    token: user.token,
    tokenFile: user.token ? undefined : userFile(user.tokenFile),
    plugin,
    proxyUrl,
    impersonate,
  });
}

/** The user's impersonation settings; groups, uid or extras without a user are refused, as client-go refuses them. */
function impersonation(user: User, userName: string, file: string): Impersonation | undefined {
  const groups = user['as-groups'] ?? [];
  const extra = Object.fromEntries(Object.entries(user['as-user-extra'] ?? {}).filter(([, v]) => v.length > 0));
  const uid = user['as-uid'] || undefined;
  const name = user.as || undefined;
  if (!name && !uid && groups.length === 0 && Object.keys(extra).length === 0) return undefined;
  if (!name) {
    throw new KubeConfigError(
      'CONFIG_INVALID',
      `kubeconfig ${file}: ${userName} sets ${[uid && 'as-uid', groups.length && 'as-groups', Object.keys(extra).length && 'as-user-extra'].filter(Boolean).join(', ')} without "as"; impersonating groups, a uid or extras needs a user to impersonate`,
      {
        hint: 'Add "as: <user>" or remove the other as-* fields',
      },
    );
  }
  return dropUndefined({ user: name, uid, groups: groups.length ? groups : undefined, extra: Object.keys(extra).length ? extra : undefined });
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
