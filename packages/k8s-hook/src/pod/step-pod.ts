import type { V1Container, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { PodWorkspace } from '../workspace/mounts.js';
import { WORK_VOLUME } from '../workspace/mounts.js';
import { optionFields, shmVolume } from './containers.js';
import type { CreateOptions } from './create-options.js';
import { CI_DEFAULTS, containerEnv, literal, literalEnv } from './env.js';
import type { RunnerPodRef } from './labels.js';
import { hookLabels, runnerOwnerReference } from './labels.js';

/** The action's container in a step pod. */
export const STEP_CONTAINER = 'step';
/**
 * Copy mode: the helper container that holds the step until the workspace is in (its `postStart`
 * hook waits for the ready marker, and the kubelet starts the next container only after it) and
 * keeps the volume reachable for copying results back after the step.
 */
export const IO_CONTAINER = 'zrh-io';
/** Where the helper containers see the step pod's work volume. */
export const HELPER_WORK = '/__w';
/** Marker files the hook creates: one releases the step (the io container's postStart hook), one ends the io container. */
export const READY_MARKER = '.zrh-ready';
export const DONE_MARKER = '.zrh-done';

/**
 * A loop that ends once `marker` exists, looking every `interval` seconds (whole seconds where
 * `sleep` takes no fraction). The gate looks often: the step starts only when it ends.
 */
const waitFor = (marker: string, interval: string) => `while [ ! -e ${HELPER_WORK}/${marker} ]; do sleep ${interval} 2>/dev/null || sleep 1; done`;

/** Inputs of `buildStepPod`. */
export interface StepPodSpec {
  readonly name: string;
  readonly namespace: string;
  readonly runner: RunnerPodRef;
  readonly image: string;
  /** Undefined: the image's own ENTRYPOINT. */
  readonly entryPoint?: string | undefined;
  readonly args: readonly string[];
  readonly workingDir: string;
  /** The Secret holding the step's environment (see `buildStepEnvSecret`). */
  readonly envSecretName: string;
  readonly workspace: PodWorkspace;
  readonly pullSecrets: readonly string[];
  /** Copy mode: the image of the helper containers (needs `sh` and `tar`). */
  readonly helperImage?: string | undefined;
  /** The step's `createOptions`, parsed and allowed by the runner's limits. */
  readonly options?: CreateOptions | undefined;
}

/**
 * A pod running one container action: the image with its own ENTRYPOINT unless `entryPoint` is
 * given, the arguments as given (no `$(NAME)` expansion), the step's environment from a Secret
 * (never in the plain pod spec; `envFrom` values are not expanded either), the `/github/*`
 * mounts, what the honoured options set, `restartPolicy: Never`. In copy mode a `zrh-io` container
 * comes first: its `postStart` hook waits until the workspace is copied in, so the kubelet starts
 * the step only then (it starts a pod's containers in order, each after the previous one's
 * `postStart` returned; an init container would cost the kubelet's next relist, up to a second, to
 * notice its end), and it keeps the volume reachable for copying results back after the step. A
 * hook that never releases the gate leaves the step unstarted until the pod is deleted.
 */
export function buildStepPod(spec: StepPodSpec): V1Pod {
  const options = spec.options;
  const shm = options?.shmSize ? shmVolume(STEP_CONTAINER, options.shmSize) : undefined;
  const step: V1Container = {
    name: STEP_CONTAINER,
    image: spec.image,
    ...(spec.entryPoint ? { command: [literal(spec.entryPoint)] } : {}),
    ...(spec.args.length ? { args: spec.args.map(literal) } : {}),
    workingDir: options?.workingDir ?? spec.workingDir,
    env: [...containerEnv(CI_DEFAULTS), ...literalEnv(options?.env ?? [])],
    envFrom: [{ secretRef: { name: spec.envSecretName } }],
    volumeMounts: [...spec.workspace.mounts.map((m) => ({ ...m })), ...(shm ? [shm.mount] : [])],
    ...(options ? optionFields(options) : {}),
  };
  const helperMount = () => [{ name: WORK_VOLUME, mountPath: HELPER_WORK }];
  const helper = spec.helperImage;
  const term = spec.workspace.nodeTerm;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      labels: { ...(options?.labels ?? {}), ...hookLabels(spec.runner.name, 'step') },
      ownerReferences: [runnerOwnerReference(spec.runner)],
    },
    spec: {
      restartPolicy: 'Never',
      containers: [
        ...(helper
          ? [
              {
                name: IO_CONTAINER,
                image: helper,
                command: ['sh', '-c', waitFor(DONE_MARKER, '1')],
                lifecycle: { postStart: { exec: { command: ['sh', '-c', waitFor(READY_MARKER, '0.05')] } } },
                volumeMounts: helperMount(),
              },
            ]
          : []),
        step,
      ],
      volumes: [...spec.workspace.volumes.map((v) => structuredClone(v)), ...(shm ? [shm.volume] : [])],
      ...(spec.pullSecrets.length ? { imagePullSecrets: spec.pullSecrets.map((name) => ({ name })) } : {}),
      ...(term ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [structuredClone(term)] } } } } : {}),
    },
  };
}

/** Inputs of `buildStepEnvSecret`. */
export interface StepEnvSecretSpec {
  readonly name: string;
  readonly namespace: string;
  readonly runner: RunnerPodRef;
  /** Names must be valid Secret keys (letters, digits, `-`, `_`, `.`). */
  readonly env: Readonly<Record<string, string>>;
}

/** The Secret a step pod reads its environment from (`envFrom`), owned by the runner pod. */
export function buildStepEnvSecret(spec: StepEnvSecretSpec): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      labels: hookLabels(spec.runner.name, 'step-env'),
      ownerReferences: [runnerOwnerReference(spec.runner)],
    },
    stringData: { ...spec.env },
  };
}
