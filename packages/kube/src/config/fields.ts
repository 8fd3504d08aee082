import { KubeConfigError } from '../errors.js';

/**
 * Every field a kubeconfig cluster or user entry may have (client-go's `clientcmd/api/v1`), and
 * what this client does with it. A field is either honoured, refused with what it would have done,
 * or harmless by construction; a field client-go does not know is refused too (a misspelt
 * `tokenfile` would otherwise connect without credentials). Nothing is ignored silently.
 */
type FieldUse =
  /** Read by the fast path (`kubeconfig.ts`). */
  | 'honoured'
  /** An exec credential plugin or auth provider: resolved by `@kubernetes/client-node` (`plugin.ts`). */
  | 'plugin'
  /** Changes nothing this client does (metadata for other tools, or already what it does). */
  | 'harmless'
  | Refused;

/** A field that would change who the client is, what it trusts or where its requests go, and that it cannot honour. */
interface Refused {
  readonly code: 'CONFIG_UNSUPPORTED' | 'CONFIG_UNSUPPORTED_AUTH';
  /** What the field does, after its name. */
  readonly means: string;
  /** Why this client cannot honour it, and what ignoring it would do. */
  readonly effect: string;
  readonly hint: string;
}

const BASIC_AUTH: Refused = {
  code: 'CONFIG_UNSUPPORTED_AUTH',
  means: 'basic authentication',
  effect: 'requests would be sent without these credentials (the API server stopped accepting passwords in Kubernetes 1.19)',
  hint: 'Supported: client-certificate(-data) with client-key(-data), token, tokenFile, an exec credential plugin, an auth provider (oidc), or none',
};

const CLUSTER_FIELDS: Readonly<Record<string, FieldUse>> = {
  server: 'honoured',
  'certificate-authority': 'honoured',
  'certificate-authority-data': 'honoured',
  'insecure-skip-tls-verify': 'honoured',
  'tls-server-name': 'honoured',
  // The client never asks for compressed responses: `true` is what it does anyway.
  'disable-compression': 'harmless',
  extensions: 'harmless',
  // Checked in kubeconfig.ts (http or https) and tunnelled through with CONNECT (proxy-tunnel.ts).
  'proxy-url': 'honoured',
};

const USER_FIELDS: Readonly<Record<string, FieldUse>> = {
  'client-certificate': 'honoured',
  'client-certificate-data': 'honoured',
  'client-key': 'honoured',
  'client-key-data': 'honoured',
  token: 'honoured',
  tokenFile: 'honoured',
  exec: 'plugin',
  'auth-provider': 'plugin',
  extensions: 'harmless',
  as: 'honoured',
  'as-uid': 'honoured',
  'as-groups': 'honoured',
  'as-user-extra': 'honoured',
  username: BASIC_AUTH,
  password: BASIC_AUTH,
};

/** client-go ignores empty values (`as: ""`, `as-groups: []`); so does this check. */
function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** Refuses every set field of a cluster or user entry this client cannot honour, or does not know. */
export function checkFields(kind: 'cluster' | 'user', entry: Readonly<Record<string, unknown>>, owner: string, file: string): void {
  const table = kind === 'cluster' ? CLUSTER_FIELDS : USER_FIELDS;
  for (const [field, value] of Object.entries(entry)) {
    if (!isSet(value)) continue;
    const use = table[field];
    if (use === undefined) {
      throw new KubeConfigError(
        'CONFIG_INVALID',
        `kubeconfig ${file}: ${owner} sets "${field}", which is not a kubeconfig ${kind} field; kubectl would ignore it and so would this client`,
        {
          hint: `Remove it or correct its name (${kind} fields: ${Object.keys(table).join(', ')})`,
        },
      );
    }
    if (typeof use === 'string') continue;
    throw new KubeConfigError(use.code, `kubeconfig ${file}: ${owner} sets "${field}" (${use.means}), which this client does not support: ${use.effect}`, {
      hint: use.hint,
    });
  }
}

/** An exec credential plugin (client-go `ExecConfig`), checked; `command` resolved like kubectl's. */
export interface ExecPlugin {
  readonly kind: 'exec';
  readonly apiVersion: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: readonly { readonly name: string; readonly value: string }[];
  readonly installHint?: string;
}

/** An auth provider (`auth-provider: {name, config}`) that `@kubernetes/client-node` implements. */
export interface AuthProviderPlugin {
  readonly kind: 'auth-provider';
  readonly name: string;
  readonly config: Readonly<Record<string, string>>;
}

export type CredentialPlugin = ExecPlugin | AuthProviderPlugin;

const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];
const EXEC_FIELDS = new Set(['apiVersion', 'command', 'args', 'env', 'installHint', 'provideClusterInfo', 'interactiveMode']);
/** The providers `@kubernetes/client-node` 1.x implements (kubectl itself keeps only exec plugins since 1.26). */
const AUTH_PROVIDERS = ['oidc', 'gcp', 'azure'];

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/**
 * Checks a user's `exec` or `auth-provider` and returns it, or `undefined` when it has neither.
 * Refused: both at once, either next to a token or client certificate, and settings the
 * credential runner cannot honour (`provideClusterInfo`, `interactiveMode: Always`).
 */
export function checkPlugin(
  user: Readonly<Record<string, unknown>>,
  owner: string,
  file: string,
  resolve: (path: string) => string,
): CredentialPlugin | undefined {
  const exec = isSet(user['exec']) ? (user['exec'] as Record<string, unknown>) : undefined;
  const provider = isSet(user['auth-provider']) ? (user['auth-provider'] as Record<string, unknown>) : undefined;
  if (!exec && !provider) return undefined;
  const at = `kubeconfig ${file}: ${owner}`;
  const invalid = (message: string, hint?: string) => new KubeConfigError('CONFIG_INVALID', `${at} ${message}`, hint === undefined ? {} : { hint });
  const others = ['token', 'tokenFile', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data'].filter((f) => isSet(user[f]));
  if (exec && provider)
    throw invalid('sets both "exec" and "auth-provider"; kubectl refuses this combination and this client does not pick one', 'Keep one of them');
  if (others.length > 0) {
    throw invalid(
      `sets "${exec ? 'exec' : 'auth-provider'}" and also ${others.map((f) => `"${f}"`).join(', ')}; this client does not pick one`,
      'Keep either the plugin or the static credentials',
    );
  }
  if (provider) {
    const name = provider['name'];
    const config = provider['config'] ?? {};
    if (typeof name !== 'string' || !AUTH_PROVIDERS.includes(name)) {
      throw new KubeConfigError(
        'CONFIG_UNSUPPORTED_AUTH',
        `${at} sets "auth-provider" with name ${JSON.stringify(name)}, which @kubernetes/client-node does not implement (it implements ${AUTH_PROVIDERS.join(', ')}); requests would be sent without credentials`,
        {
          hint: 'Use an exec credential plugin instead (kubectl dropped the built-in providers in 1.26), e.g. kubelogin for OIDC',
        },
      );
    }
    if (typeof config !== 'object' || config === null || !Object.values(config).every((v) => typeof v === 'string')) {
      throw invalid('sets "auth-provider.config", which must map names to strings');
    }
    return { kind: 'auth-provider', name, config: config as Record<string, string> };
  }
  const e = exec as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(e)) if (!EXEC_FIELDS.has(key)) problems.push(`"exec.${key}" is not an exec plugin field (${[...EXEC_FIELDS].join(', ')})`);
  if (typeof e['command'] !== 'string' || e['command'] === '') problems.push('"exec.command" must be a non-empty string');
  if (typeof e['apiVersion'] !== 'string' || !EXEC_API_VERSIONS.includes(e['apiVersion'])) {
    problems.push(`"exec.apiVersion" must be ${EXEC_API_VERSIONS.join(' or ')}, got ${JSON.stringify(e['apiVersion'] ?? null)}`);
  }
  if (e['args'] !== undefined && e['args'] !== null && !isStringArray(e['args'])) problems.push('"exec.args" must be a list of strings');
  const env = e['env'] ?? [];
  if (!Array.isArray(env) || !env.every((v) => typeof v === 'object' && v !== null && typeof v.name === 'string' && typeof v.value === 'string')) {
    problems.push('"exec.env" must be a list of {name, value} strings');
  }
  if (e['installHint'] !== undefined && typeof e['installHint'] !== 'string') problems.push('"exec.installHint" must be a string');
  if (e['interactiveMode'] !== undefined && !['Never', 'IfAvailable', 'Always'].includes(e['interactiveMode'] as string)) {
    problems.push(`"exec.interactiveMode" must be Never, IfAvailable or Always, got ${JSON.stringify(e['interactiveMode'])}`);
  }
  if (problems.length > 0) throw invalid(`has an invalid exec credential plugin: ${problems.join('; ')}`);
  if (e['provideClusterInfo'] === true) {
    throw new KubeConfigError(
      'CONFIG_UNSUPPORTED_AUTH',
      `${at} sets "exec.provideClusterInfo: true", which this client does not support: the plugin would run without the cluster information it asks for (KUBERNETES_EXEC_INFO)`,
      {
        hint: 'Remove provideClusterInfo if the plugin does not need it, or give the hook a token (kubectl create token <serviceaccount>)',
      },
    );
  }
  if (e['interactiveMode'] === 'Always') {
    throw new KubeConfigError(
      'CONFIG_UNSUPPORTED_AUTH',
      `${at} sets "exec.interactiveMode: Always", which this client does not support: the plugin is run without a terminal`,
      {
        hint: 'Use interactiveMode IfAvailable or Never, and log in beforehand so that the plugin has a cached credential',
      },
    );
  }
  const command = e['command'] as string;
  return {
    kind: 'exec',
    apiVersion: e['apiVersion'] as string,
    // kubectl: a command with a path separator is relative to the kubeconfig's folder; a bare name is looked up in PATH.
    command: command.includes('/') ? resolve(command) : command,
    args: (e['args'] as string[] | undefined | null) ?? [],
    env: env as { name: string; value: string }[],
    ...(typeof e['installHint'] === 'string' && { installHint: e['installHint'] }),
  };
}
