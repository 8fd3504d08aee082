import type { V1Container, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ImageContainer } from '../protocol/input.js';
import type { CreateOptions } from './create-options.js';
import { containerEnv, literal, literalEnv } from './env.js';
import type { PortMapping } from './ports.js';
import { toContainerPorts } from './ports.js';

/** The job container's name; the runner's steps are exec'd into it. */
export const JOB_CONTAINER = 'job';
/** The job container's first log line starts with this, followed by `alpine` or `other`. */
export const OS_MARKER = 'zrh-os: ';
/**
 * Keeps the job container alive (steps run through exec). First it logs whether the image is
 * Alpine (`isAlpine` of prepare_job's answer), so prepare_job reads one log line instead of
 * exec'ing a probe; then `tail` replaces the shell as PID 1.
 */
export const JOB_COMMAND: readonly string[] = [
  'sh',
  '-c',
  `if [ -f /etc/alpine-release ]; then echo '${OS_MARKER}alpine'; else echo '${OS_MARKER}other'; fi; exec tail -f /dev/null`,
];

/** Inputs of `buildJobContainer`. */
export interface JobContainerSpec {
  readonly container: ImageContainer;
  readonly ports: readonly PortMapping[];
  readonly mounts: readonly V1VolumeMount[];
  readonly options: CreateOptions;
  /** Extra env from collaborators (e.g. the cache), after the workflow's own. */
  readonly extraEnv?: readonly { name: string; value: string }[];
}

/**
 * The `job` container: the workflow's image kept alive, with env (every value passed on
 * literally, no `$(NAME)` expansion), ports, mounts and options.
 */
export function buildJobContainer(spec: JobContainerSpec): V1Container {
  const { container, options } = spec;
  const workingDir = options.workingDir ?? container.workingDirectory;
  return {
    name: JOB_CONTAINER,
    image: container.image,
    command: [...JOB_COMMAND],
    ...(workingDir ? { workingDir } : {}),
    env: [...containerEnv(container.environmentVariables), ...literalEnv(options.env), ...literalEnv(spec.extraEnv ?? [])],
    ...(spec.ports.length ? { ports: toContainerPorts(spec.ports) } : {}),
    volumeMounts: spec.mounts.map((m) => ({ ...m })),
    ...optionFields(options),
  };
}

/** Inputs of `buildServiceContainer`. */
export interface ServiceContainerSpec {
  readonly name: string;
  readonly container: ImageContainer;
  readonly ports: readonly PortMapping[];
  readonly mounts: readonly V1VolumeMount[];
  readonly options: CreateOptions;
}

/**
 * A service as a sidecar of the job pod; its entrypoint/args and env values as the workflow gives
 * them, passed on literally (no `$(NAME)` expansion by the kubelet, as with Docker).
 */
export function buildServiceContainer(spec: ServiceContainerSpec): V1Container {
  const { container, options } = spec;
  const workingDir = options.workingDir ?? container.workingDirectory;
  const args = container.entryPointArgs.filter((a) => a !== '');
  return {
    name: spec.name,
    image: container.image,
    ...(container.entryPoint ? { command: [literal(container.entryPoint)] } : {}),
    ...(args.length ? { args: args.map(literal) } : {}),
    ...(workingDir ? { workingDir } : {}),
    env: [...containerEnv(container.environmentVariables), ...literalEnv(options.env)],
    ...(spec.ports.length ? { ports: toContainerPorts(spec.ports) } : {}),
    ...(spec.mounts.length ? { volumeMounts: spec.mounts.map((m) => ({ ...m })) } : {}),
    ...optionFields(options),
  };
}

/** What the honoured options set on any container besides env, working directory and mounts (copied). */
export function optionFields(options: CreateOptions): Pick<V1Container, 'securityContext' | 'resources'> {
  return {
    ...(options.securityContext ? { securityContext: structuredClone(options.securityContext) } : {}),
    ...(options.resources ? { resources: structuredClone(options.resources) } : {}),
  };
}

/** `--shm-size` for `container`: a memory-backed emptyDir of `size` and its mount at /dev/shm. */
export function shmVolume(container: string, size: string): { volume: V1Volume; mount: V1VolumeMount } {
  const name = `shm-${container}`.slice(0, 63);
  return { volume: { name, emptyDir: { medium: 'Memory', sizeLimit: size } }, mount: { name, mountPath: '/dev/shm' } };
}
