import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import type { Registry } from '../protocol/input.js';

/** Docker Hub's server key in a docker config (the runner sends `""` for Docker Hub). */
export const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';

/** Credentials of one registry, ready for a dockerconfigjson Secret. */
export interface RegistryCredential {
  readonly server: string;
  readonly username: string;
  readonly password: string;
}

/**
 * The distinct registry credentials of `registries` (job container first, then services), one
 * per server+username+password; entries without username or password are skipped.
 */
export function distinctCredentials(registries: readonly (Registry | undefined)[]): RegistryCredential[] {
  const seen = new Map<string, RegistryCredential>();
  for (const r of registries) {
    if (!r?.username || !r.password) continue;
    const server = r.serverUrl ? r.serverUrl : DOCKER_HUB_SERVER;
    const key = JSON.stringify([server, r.username, r.password]);
    if (!seen.has(key)) seen.set(key, { server, username: r.username, password: r.password });
  }
  return [...seen.values()];
}

/** Specification of one registry Secret. */
export interface RegistrySecretSpec {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly V1OwnerReference[];
  readonly credential: RegistryCredential;
}

/** A `kubernetes.io/dockerconfigjson` Secret holding one registry's credentials. */
export function buildRegistrySecret(spec: RegistrySecretSpec): V1Secret {
  const { server, username, password } = spec.credential;
  const auth = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
  const config = { auths: { [server]: { username, password, auth } } };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/dockerconfigjson',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      labels: { ...spec.labels },
      ownerReferences: spec.ownerReferences.map((o) => ({ ...o })),
    },
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config), 'utf8').toString('base64') },
  };
}
