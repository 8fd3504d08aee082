import type {
  V1Container,
  V1EnvVar,
  V1NodeSelectorRequirement,
  V1NodeSelectorTerm,
  V1Pod,
  V1PodSecurityContext,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { ImageContainer } from '../protocol/input.js';
import type { PodWorkspace } from '../workspace/mounts.js';
import type { CreateOptions } from './create-options.js';
import { buildJobContainer, buildServiceContainer, JOB_CONTAINER, shmVolume } from './containers.js';
import type { RunnerPodRef } from './labels.js';
import { hookLabels, runnerOwnerReference } from './labels.js';
import type { PortMapping } from './ports.js';

/** One container of the job pod as the workflow describes it, parsed. */
export interface ContainerParts {
  readonly container: ImageContainer;
  readonly ports: readonly PortMapping[];
  readonly options: CreateOptions;
  /** The user's `volumes:` that resolved to paths inside `_work`. */
  readonly userMounts: readonly V1VolumeMount[];
}

/** What a collaborator (the build cache) adds to the job pod. */
export interface JobPodAdditions {
  readonly volumes?: readonly V1Volume[];
  /** Mounts of the job container. */
  readonly volumeMounts?: readonly V1VolumeMount[];
  /** Env of the job container. */
  readonly env?: readonly V1EnvVar[];
  /** Node requirements, ANDed with the workspace's. */
  readonly nodeRequirements?: readonly V1NodeSelectorRequirement[];
  /** The pod's `securityContext` (a hook template can still extend it). */
  readonly podSecurityContext?: V1PodSecurityContext;
}

/** Inputs of `buildJobPod`. */
export interface JobPodSpec {
  readonly name: string;
  readonly namespace: string;
  readonly runner: RunnerPodRef;
  /** Undefined for jobs with only services. */
  readonly job?: ContainerParts;
  /** Services in request order, with their container names. */
  readonly services: readonly (ContainerParts & { readonly name: string })[];
  readonly workspace: PodWorkspace;
  readonly pullSecrets: readonly string[];
  readonly additions?: JobPodAdditions;
}

/** ANDs node-selector terms and requirements into one required term. */
export function combineNodeTerms(
  term: V1NodeSelectorTerm | undefined,
  requirements: readonly V1NodeSelectorRequirement[] | undefined,
): V1NodeSelectorTerm | undefined {
  const matchFields = [...(term?.matchFields ?? [])].map((r) => structuredClone(r));
  const matchExpressions = [...(term?.matchExpressions ?? []), ...(requirements ?? [])].map((r) => structuredClone(r));
  if (!matchFields.length && !matchExpressions.length) return undefined;
  return { ...(matchFields.length ? { matchFields } : {}), ...(matchExpressions.length ? { matchExpressions } : {}) };
}

/**
 * The job pod: the `job` container (the workflow's image, kept alive with `tail -f /dev/null`),
 * each service as a sidecar, the workspace volumes, registry pull secrets, the `--label`s of the
 * job and the services under the hook's own labels (the runner-pod label wins) and an
 * ownerReference to the runner pod, `restartPolicy: Never`.
 */
export function buildJobPod(spec: JobPodSpec): V1Pod {
  const volumes: V1Volume[] = spec.workspace.volumes.map((v) => structuredClone(v));
  const containers: V1Container[] = [];
  const labels: Record<string, string> = {};
  const add = spec.additions ?? {};

  if (spec.job) {
    const shm = spec.job.options.shmSize ? shmVolume(JOB_CONTAINER, spec.job.options.shmSize) : undefined;
    if (shm) volumes.push(shm.volume);
    containers.push(
      buildJobContainer({
        container: spec.job.container,
        ports: spec.job.ports,
        options: spec.job.options,
        mounts: [...spec.workspace.mounts, ...spec.job.userMounts, ...(add.volumeMounts ?? []), ...(shm ? [shm.mount] : [])],
        extraEnv: (add.env ?? []).map((e) => ({ name: e.name, value: e.value ?? '' })),
      }),
    );
    Object.assign(labels, spec.job.options.labels);
  }
  for (const s of spec.services) {
    Object.assign(labels, s.options.labels);
    const shm = s.options.shmSize ? shmVolume(s.name, s.options.shmSize) : undefined;
    if (shm) volumes.push(shm.volume);
    containers.push(
      buildServiceContainer({
        name: s.name,
        container: s.container,
        ports: s.ports,
        options: s.options,
        mounts: [...s.userMounts, ...(shm ? [shm.mount] : [])],
      }),
    );
  }
  volumes.push(...(add.volumes ?? []).map((v) => structuredClone(v)));
  const term = combineNodeTerms(spec.workspace.nodeTerm, add.nodeRequirements);

  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      labels: { ...labels, ...hookLabels(spec.runner.name, 'job') },
      ownerReferences: [runnerOwnerReference(spec.runner)],
    },
    spec: {
      restartPolicy: 'Never',
      containers,
      volumes,
      ...(spec.pullSecrets.length ? { imagePullSecrets: spec.pullSecrets.map((name) => ({ name })) } : {}),
      ...(term ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [term] } } } } : {}),
      ...(add.podSecurityContext ? { securityContext: structuredClone(add.podSecurityContext) } : {}),
    },
  };
}
