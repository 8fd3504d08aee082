import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { proxyKubeConfig } from '../../fault-proxy/kubeconfig.js';

function kubeconfig(user: Record<string, unknown>): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'zrh', server: 'https://127.0.0.1:16443', caFile: '/tmp/zrh-cluster/pki/ca.crt', tlsServerName: 'kubernetes', skipTLSVerify: false }],
    users: [{ name: 'hook', ...user }],
    contexts: [{ name: 'zrh', cluster: 'zrh', user: 'hook', namespace: 'ci' }],
    currentContext: 'zrh',
  });
  return kc;
}

describe('proxyKubeConfig', () => {
  it('keeps the token, the CA and the namespace and points at the proxy', () => {
    const kc = proxyKubeConfig(kubeconfig({ token: 'sa-token' }), 'https://127.0.0.1:40123');
    expect(kc.getCurrentCluster()).toMatchObject({ server: 'https://127.0.0.1:40123', caFile: '/tmp/zrh-cluster/pki/ca.crt', skipTLSVerify: false });
    expect(kc.getCurrentCluster()?.tlsServerName).toBeUndefined();
    expect(kc.getCurrentUser()).toMatchObject({ name: 'hook', token: 'sa-token' });
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('ci');
    // What the hook reads: the exported file.
    expect(kc.exportConfig()).toContain('https://127.0.0.1:40123');
  });

  it('refuses a user with a client certificate, which cannot pass a proxy that ends TLS', () => {
    expect(() => proxyKubeConfig(kubeconfig({ certFile: '/pki/admin.crt', keyFile: '/pki/admin.key' }), 'https://127.0.0.1:1')).toThrow(
      /user "hook" authenticates with a client certificate, which cannot pass the fault proxy/,
    );
  });
});
