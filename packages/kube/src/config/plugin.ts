import { KubeConfigError } from '../errors.js';
import type { CredentialPlugin } from './fields.js';

/** The credentials a plugin gave: a bearer token, or a client certificate and key (PEM). */
export interface PluginCredentials {
  readonly token?: string;
  readonly clientCert?: Buffer;
  readonly clientKey?: Buffer;
}

/**
 * Runs an exec credential plugin or auth provider through `@kubernetes/client-node`'s
 * `KubeConfig`, loaded here and only here (the fast path never pays for it), and returns the
 * credentials it produced. One call, once per process: the credential is used for the process's
 * lifetime (ADR 0018).
 */
export async function resolvePluginCredentials(plugin: CredentialPlugin, userName: string, server: string, owner: string): Promise<PluginCredentials> {
  const { KubeConfig } = await import(/* webpackMode: "eager" */ '@kubernetes/client-node');
  const kc = new KubeConfig();
  const user =
    plugin.kind === 'exec'
      ? { name: userName, exec: { apiVersion: plugin.apiVersion, command: plugin.command, args: [...plugin.args], env: plugin.env.map((e) => ({ ...e })) } }
      : { name: userName, authProvider: { name: plugin.name, config: { ...plugin.config } } };
  kc.loadFromOptions({
    clusters: [{ name: 'cluster', server, skipTLSVerify: false }],
    users: [user],
    contexts: [{ name: 'context', cluster: 'cluster', user: userName }],
    currentContext: 'context',
  });
  const what = plugin.kind === 'exec' ? `exec credential plugin ${JSON.stringify(plugin.command)}` : `auth provider ${JSON.stringify(plugin.name)}`;
  const opts: { headers?: Record<string, string>; cert?: string | Buffer; key?: string | Buffer } = {};
  try {
    // applyToHTTPSOptions also builds an https.Agent, which this client does not use; nothing
    // else: cluster fields stay with the fast path, which reads them the same way.
    await kc.applyToHTTPSOptions(opts);
  } catch (err) {
    throw new KubeConfigError('CONFIG_INVALID', `${owner}: the ${what} failed: ${describeFailure(err)}`, { cause: err, hint: pluginHint(plugin) });
  }
  const auth = opts.headers?.['Authorization'] ?? opts.headers?.['authorization'];
  const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
  const clientCert = opts.cert === undefined ? undefined : Buffer.from(opts.cert);
  const clientKey = opts.key === undefined ? undefined : Buffer.from(opts.key);
  if (!token && !(clientCert && clientKey)) {
    throw new KubeConfigError(
      'CONFIG_INVALID',
      `${owner}: the ${what} gave no credentials (neither status.token nor status.clientCertificateData with clientKeyData)`,
      { hint: pluginHint(plugin) },
    );
  }
  return { ...(token && { token }), ...(clientCert && clientKey && { clientCert, clientKey }) };
}

function describeFailure(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return `${e.path ?? 'the command'} was not found`;
  if (e.code === 'EACCES') return `${e.path ?? 'the command'} is not executable`;
  if (e instanceof SyntaxError) return `it did not print an ExecCredential as JSON (${e.message})`;
  const message = (e?.message ?? String(err)).trim();
  return message === '' ? 'it exited with an error and wrote nothing to stderr' : message.split('\n').slice(0, 5).join(' ').slice(0, 500);
}

function pluginHint(plugin: CredentialPlugin): string {
  if (plugin.kind === 'exec')
    return plugin.installHint?.trim() || `Check that ${plugin.command} runs and prints an ExecCredential (run it by hand with the same arguments)`;
  return `Check the auth provider's config (name ${plugin.name})`;
}
