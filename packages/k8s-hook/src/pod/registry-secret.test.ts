import { describe, expect, it } from 'vitest';
import { hookLabels, runnerOwnerReference } from './labels.js';
import { isObjectNameOf } from './names.js';
import { buildRegistrySecret, buildRegistrySecrets, DOCKER_HUB_SERVER, distinctCredentials } from './registry-secret.js';

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

describe('buildRegistrySecrets', () => {
  const runner = { name: 'arc-runner-1', uid: 'u1' };

  it('makes one Secret per distinct credential, named, labelled and owned for the runner pod, and lists the passwords to mask', () => {
    const registries = [
      { username: 'u', password: 'p1', serverUrl: 'ghcr.io' },
      undefined,
      { username: 'u', password: 'p1', serverUrl: 'ghcr.io' },
      { username: 'v', password: 'p2', serverUrl: '' },
    ];
    const { secrets, passwords } = buildRegistrySecrets({ runner, namespace: 'ci', seed: 'abc', registries });
    expect(passwords).toEqual(['p1', 'p2']);
    expect(secrets).toHaveLength(2);
    for (const s of secrets) {
      expect(isObjectNameOf(runner.name, ['reg'], s.metadata?.name ?? '')).toBe(true);
      expect(s.metadata).toMatchObject({ namespace: 'ci', labels: hookLabels(runner.name, 'registry'), ownerReferences: [runnerOwnerReference(runner)] });
    }
    expect(new Set(secrets.map((s) => s.metadata?.name)).size).toBe(2);
  });

  it('names the Secrets after the seed, so another command gets other names', () => {
    const registries = [{ username: 'u', password: 'p', serverUrl: 'ghcr.io' }];
    const name = (seed: string) => buildRegistrySecrets({ runner, namespace: 'ci', seed, registries }).secrets[0]?.metadata?.name;
    expect(name('a')).toBe(name('a'));
    expect(name('a')).not.toBe(name('b'));
  });

  it('makes nothing without credentials', () => {
    expect(
      buildRegistrySecrets({ runner, namespace: 'ci', seed: 's', registries: [undefined, { username: 'u', password: undefined, serverUrl: 'x' }] }),
    ).toEqual({ secrets: [], passwords: [] });
  });
});
