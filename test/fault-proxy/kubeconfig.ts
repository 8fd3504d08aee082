/**
 * A kubeconfig that talks to the API server through the fault proxy: the same user (its bearer
 * token) and the same CA, the proxy's URL as the server.
 */
import { KubeConfig } from '@kubernetes/client-node';

/**
 * `kc`'s current context with `proxyUrl` as its server. The proxy ends TLS, so a user that
 * authenticates with a client certificate cannot go through it and is refused here; tokens (and
 * exec or auth-provider plugins, which produce tokens) pass.
 */
export function proxyKubeConfig(kc: KubeConfig, proxyUrl: string): KubeConfig {
  const contextName = kc.getCurrentContext();
  const context = kc.getContextObject(contextName);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!context || !cluster || !user) throw new Error(`kubeconfig context ${JSON.stringify(contextName)} lacks a cluster or a user`);
  if (user.certData || user.certFile || user.keyData || user.keyFile) {
    throw new Error(
      `user ${JSON.stringify(user.name)} authenticates with a client certificate, which cannot pass the fault proxy (it ends TLS); ` +
        'use an identity with a bearer token, such as serviceAccountKubeConfig in test/cluster/harness.ts',
    );
  }
  const name = `${cluster.name}-through-fault-proxy`;
  const out = new KubeConfig();
  out.loadFromOptions({
    // The proxy's certificate names 127.0.0.1, so no tls-server-name and no proxy-url of the original.
    clusters: [{ name, server: proxyUrl, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: cluster.skipTLSVerify }],
    users: [user],
    contexts: [{ ...context, name, cluster: name }],
    currentContext: name,
  });
  return out;
}
