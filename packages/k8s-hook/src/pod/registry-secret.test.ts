import { describe, expect, it } from 'vitest';
import { buildRegistrySecret, DOCKER_HUB_SERVER, distinctCredentials } from './registry-secret.js';

describe('distinctCredentials', () => {
  it('keeps one credential per registry, Docker Hub for an empty serverUrl, skipping incomplete ones', () => {
    expect(
      distinctCredentials([
        { username: 'u', password: 'p', serverUrl: '' },
        undefined,
        { username: 'u', password: 'p', serverUrl: undefined },
        { username: 'bot', password: 'tok', serverUrl: 'ghcr.io' },
        { username: 'x', password: undefined, serverUrl: 'quay.io' },
      ]),
    ).toEqual([
      { server: DOCKER_HUB_SERVER, username: 'u', password: 'p' },
      { server: 'ghcr.io', username: 'bot', password: 'tok' },
    ]);
  });
});

describe('buildRegistrySecret', () => {
  it('builds a labelled, owned dockerconfigjson Secret', () => {
    const s = buildRegistrySecret({
      name: 'r-reg-1',
      namespace: 'ci',
      labels: { 'runner-pod': 'r' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'r', uid: 'u1' }],
      credential: { server: 'ghcr.io', username: 'bot', password: 'p:w' },
    });
    expect(s.type).toBe('kubernetes.io/dockerconfigjson');
    expect(s.metadata?.labels).toEqual({ 'runner-pod': 'r' });
    expect(s.metadata?.ownerReferences?.[0]?.uid).toBe('u1');
    const config = JSON.parse(Buffer.from(s.data?.['.dockerconfigjson'] ?? '', 'base64').toString());
    expect(config).toEqual({ auths: { 'ghcr.io': { username: 'bot', password: 'p:w', auth: Buffer.from('bot:p:w').toString('base64') } } });
  });
});
