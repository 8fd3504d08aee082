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

/**
 * A kubeconfig field this client does not implement and that would change who the client is,
 * what it trusts or where its requests go. Ignoring one would silently connect differently from
 * kubectl, so a set field is refused with what it would have done and what to do instead.
 */
interface RefusedField {
  readonly code: 'CONFIG_UNSUPPORTED' | 'CONFIG_UNSUPPORTED_AUTH';
  /** What the field does, after its name. */
  readonly means: string;
  /** What ignoring it would do. */
  readonly effect: string;
  readonly hint: string;
}

const IMPERSONATION: RefusedField = {
  code: 'CONFIG_UNSUPPORTED_AUTH',
  means: 'impersonation',
  effect: 'every request would be sent as the user itself, not as the identity it names',
  hint: 'Give the hook a kubeconfig of the identity it should have instead, e.g. a token of that ServiceAccount (kubectl create token <serviceaccount>)',
};
const AUTH = (means: string): RefusedField => ({
  code: 'CONFIG_UNSUPPORTED_AUTH',
  means,
  effect: 'requests would be sent without these credentials',
  hint: SUPPORTED_AUTH,
});

const REFUSED_USER_FIELDS: Readonly<Record<string, RefusedField>> = {
  as: IMPERSONATION,
  'as-uid': IMPERSONATION,
  'as-groups': IMPERSONATION,
  'as-user-extra': IMPERSONATION,
  exec: AUTH('authentication by a credential plugin'),
  'auth-provider': AUTH('authentication by an auth provider'),
  username: AUTH('basic authentication'),
  password: AUTH('basic authentication'),
};
const REFUSED_CLUSTER_FIELDS: Readonly<Record<string, RefusedField>> = {
  'proxy-url': {
    code: 'CONFIG_UNSUPPORTED',
    means: 'a proxy to reach the server through',
    effect: 'requests would go to the server directly, not through the proxy',
    hint: 'Remove proxy-url where the API server is reachable directly (as it is from a pod of the cluster)',
  },
};

/** client-go ignores empty values (`as: ""`, `as-groups: []`); so does this check. */
function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function refuseFields(fields: Readonly<Record<string, RefusedField>>, entry: Record<string, unknown>, owner: string, file: string): void {
  for (const [field, refused] of Object.entries(fields)) {
    if (!isSet(entry[field])) continue;
    throw new KubeConfigError(
      refused.code,
      `kubeconfig ${file}: ${owner} sets "${field}" (${refused.means}), which this client does not support: ${refused.effect}`,
      { hint: refused.hint },
    );
  }
}

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
  const inContext = `(context ${JSON.stringify(contextName)})`;
  const clusterName = `cluster ${JSON.stringify(ctx.cluster)} ${inContext}`;
  refuseFields(REFUSED_CLUSTER_FIELDS, cluster, clusterName, file);
  refuseFields(REFUSED_USER_FIELDS, user, `user ${JSON.stringify(ctx.user)} ${inContext}`, file);
  if (cluster['insecure-skip-tls-verify'] && (cluster['certificate-authority'] || cluster['certificate-authority-data'])) {
    // client-go: "specifying a root certificates file with the insecure flag is not allowed".
    throw new KubeConfigError(
      'CONFIG_INVALID',
      `kubeconfig ${file}: ${clusterName} sets both "insecure-skip-tls-verify: true" and a certificate-authority(-data); kubectl refuses this combination and this client does not pick one`,
      { hint: 'Remove insecure-skip-tls-verify so that the server is verified with the CA' },
    );
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
