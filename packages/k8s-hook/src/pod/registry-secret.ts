import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import type { Registry } from '../protocol/input.js';
import { hookLabels, runnerOwnerReference, type RunnerPodRef } from './labels.js';
import { objectName } from './names.js';

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

/** What a command's image pull Secrets are made from. */
export interface RegistrySecretsSpec {
  readonly runner: RunnerPodRef;
  readonly namespace: string;
  /** The command's random seed: the Secrets are named `<runner>-reg-<hash of seed/i>`. */
  readonly seed: string;
  /** The registries of the containers (job container first, then services), as the runner sends them. */
  readonly registries: readonly (Registry | undefined)[];
}

/**
 * The image pull Secrets of one command (prepare_job, run_container_step): one per distinct
 * credential, named, labelled and owned like every object the hook makes for the runner pod, and
 * the passwords the log must mask.
 */
export function buildRegistrySecrets(spec: RegistrySecretsSpec): { readonly secrets: V1Secret[]; readonly passwords: string[] } {
  const credentials = distinctCredentials(spec.registries);
  const secrets = credentials.map((credential, i) =>
    buildRegistrySecret({
      name: objectName(spec.runner.name, 'reg', `${spec.seed}/${i}`),
      namespace: spec.namespace,
      labels: hookLabels(spec.runner.name, 'registry'),
      ownerReferences: [runnerOwnerReference(spec.runner)],
      credential,
    }),
  );
  return { secrets, passwords: credentials.map((c) => c.password) };
}
