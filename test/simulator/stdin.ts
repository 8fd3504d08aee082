import { toContainerPath } from './container-paths.js';
import type { WorkLayout } from './work-layout.js';

/**
 * The hook's stdin, shaped exactly like the runner's serializer writes it (Newtonsoft.Json with
 * camelCase property names, dictionary keys unchanged, nulls written, properties in declaration
 * order). Each builder here is pure.
 */

export type HookCommand = 'prepare_job' | 'cleanup_job' | 'run_script_step' | 'run_container_step';

/** `MountVolume` as the runner serializes it. */
export interface MountVolume {
  readonly userProvidedValue: string | null;
  readonly sourceVolumePath: string | null;
  readonly targetVolumePath: string | null;
  readonly readOnly: boolean;
}

export interface ContainerRegistry {
  readonly username: string | null;
  readonly password: string | null;
  readonly serverUrl: string | null;
}

/** `HookContainer`: prepare_job's `container` and `services[i]`, and run_container_step's `args`. */
export interface HookContainer {
  readonly image: string | null;
  readonly dockerfile: string | null;
  readonly entryPointArgs: readonly string[];
  readonly entryPoint: string | null;
  readonly workingDirectory: string | null;
  readonly createOptions: string | null;
  readonly registry: ContainerRegistry | null;
  readonly environmentVariables: Readonly<Record<string, string>>;
  readonly portMappings: readonly string[];
  readonly systemMountVolumes: readonly MountVolume[];
  readonly userMountVolumes: readonly MountVolume[];
}

export interface PrepareJobArgs {
  readonly container: HookContainer | null;
  readonly services: readonly HookContainer[];
}

export interface ScriptStepArgs {
  readonly entryPointArgs: readonly string[];
  readonly entryPoint: string;
  readonly environmentVariables: Readonly<Record<string, string>>;
  readonly prependPath: readonly string[];
  readonly workingDirectory: string;
}

export type HookArgs = PrepareJobArgs | ScriptStepArgs | HookContainer | Record<string, never>;

/** The whole stdin object. */
export interface HookInput {
  readonly command: HookCommand;
  readonly responseFile: string;
  readonly args: HookArgs;
  readonly state: unknown;
}

/** A `container:` or `services.<id>:` entry of a workflow, as a user writes it. */
export interface WorkflowContainer {
  readonly image: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly ports?: readonly string[];
  readonly volumes?: readonly string[];
  /** `options:` (passed as `createOptions`). */
  readonly options?: string;
  readonly credentials?: { readonly username: string; readonly password: string };
  /** Services only: `entrypoint:`. */
  readonly entrypoint?: string;
  /** Services only: `command:` (the runner splits it on spaces). */
  readonly command?: string;
}

/** The step's entry point arguments as the runner sends them: split on single spaces, empties kept. */
export function splitEntryPointArgs(args: string): string[] {
  return args.split(' ').map((arg) => arg.trim());
}

/**
 * The registry host the runner parses from an image name: the first path segment when it looks
 * like a host (has `.` or `:`, or is `localhost`), else `""` (Docker Hub).
 */
export function registryServerOf(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return '';
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : '';
}

/** Parses a `volumes:` entry (`source:target[:ro]`, `target:ro` or `target`) like the runner. */
export function parseUserVolume(volume: string): MountVolume {
  const parts = volume.split(':');
  if (parts.length === 3) {
    return mount(volume, parts[0] ?? null, parts[1] ?? null, parts[2]?.toLowerCase() === 'ro');
  }
  if (parts.length === 2) {
    return parts[1]?.toLowerCase() === 'ro' ? mount(volume, null, parts[0] ?? null, true) : mount(volume, parts[0] ?? null, parts[1] ?? null, false);
  }
  return mount(volume, null, volume, false);
}

function mount(userProvidedValue: string | null, sourceVolumePath: string | null, targetVolumePath: string | null, readOnly: boolean): MountVolume {
  return { userProvidedValue, sourceVolumePath, targetVolumePath, readOnly };
}

/** The job container's system mounts, with runner-side (host) source paths, in the runner's order. */
export function systemMountVolumes(layout: WorkLayout): MountVolume[] {
  return [
    mount(null, '/var/run/docker.sock', '/var/run/docker.sock', false),
    mount(null, layout.workDir, '/__w', false),
    mount(null, layout.externalsDir, '/__e', true),
    mount(null, layout.tempDir, '/__w/_temp', false),
    mount(null, layout.actionsDir, '/__w/_actions', false),
    mount(null, layout.toolDir, '/__w/_tool', false),
    mount(null, layout.githubHome, '/github/home', false),
    mount(null, layout.githubWorkflow, '/github/workflow', false),
  ];
}

/** Builds the `HookContainer` of the job container (`role: 'job'`) or of a service. */
export function buildHookContainer(layout: WorkLayout, container: WorkflowContainer, role: 'job' | 'service'): HookContainer {
  const isJob = role === 'job';
  return {
    image: container.image,
    dockerfile: null,
    entryPointArgs: container.command === undefined ? [] : splitEntryPointArgs(container.command),
    entryPoint: isJob ? null : (container.entrypoint ?? null),
    workingDirectory: isJob ? toContainerPath(layout, layout.workspace) : null,
    createOptions: container.options ?? null,
    registry: container.credentials
      ? {
          username: container.credentials.username,
          password: container.credentials.password,
          serverUrl: registryServerOf(container.image),
        }
      : null,
    environmentVariables: isJob ? { ...container.env, HOME: '/github/home' } : { ...container.env },
    portMappings: [...(container.ports ?? [])],
    systemMountVolumes: isJob ? systemMountVolumes(layout) : [],
    userMountVolumes: (container.volumes ?? []).map(parseUserVolume),
  };
}

/** prepare_job's stdin object (`state` is always null: the runner sends none). */
export function prepareJobInput(
  layout: WorkLayout,
  responseFile: string,
  container: WorkflowContainer | null,
  services: readonly WorkflowContainer[],
): HookInput {
  return {
    command: 'prepare_job',
    responseFile,
    args: {
      container: container ? buildHookContainer(layout, container, 'job') : null,
      services: services.map((service) => buildHookContainer(layout, service, 'service')),
    },
    state: null,
  };
}

/** run_script_step's stdin object. */
export function scriptStepInput(
  responseFile: string,
  args: {
    readonly entryPoint: string;
    /** The argument string; split like the runner does. */
    readonly entryPointArgs: string;
    readonly environmentVariables: Readonly<Record<string, string>>;
    readonly prependPath: readonly string[];
    readonly workingDirectory: string;
  },
  state: unknown,
): HookInput {
  return {
    command: 'run_script_step',
    responseFile,
    args: {
      entryPointArgs: splitEntryPointArgs(args.entryPointArgs),
      entryPoint: args.entryPoint,
      environmentVariables: args.environmentVariables,
      prependPath: [...args.prependPath],
      workingDirectory: args.workingDirectory,
    },
    state: state ?? null,
  };
}

/** The mounts the runner gives a container action, with runner-side source paths. */
export function containerStepMountVolumes(layout: WorkLayout): MountVolume[] {
  return [
    mount(null, '/var/run/docker.sock', '/var/run/docker.sock', false),
    mount(null, layout.githubHome, '/github/home', false),
    mount(null, layout.githubWorkflow, '/github/workflow', false),
    mount(null, layout.fileCommandsDir, '/github/file_commands', false),
    mount(null, layout.workspace, '/github/workspace', false),
    mount(null, layout.tempDir, '/github/runner_temp', false),
  ];
}

/**
 * The argument string the runner builds for a container action: each `args:` item wrapped in
 * double quotes (inner quotes escaped) and joined with spaces — later split on spaces.
 */
export function quoteContainerActionArgs(args: readonly string[]): string {
  return args.map((arg) => `"${arg.replace(/"/g, '\\"')}"`).join(' ');
}

/** A container action (`runs.using: docker` with `image: docker://…`) as the runner sees it. */
export interface ContainerAction {
  /** Image without `docker://`. */
  readonly image: string;
  /** `runs.entrypoint`, or null for the image's own ENTRYPOINT. */
  readonly entryPoint: string | null;
  /** `runs.args`. */
  readonly args: readonly string[];
  /** The step's full environment (see `buildContainerStepEnv`). */
  readonly environmentVariables: Readonly<Record<string, string>>;
}

/** run_container_step's `args` for a container action. */
export function buildContainerStepContainer(layout: WorkLayout, action: ContainerAction): HookContainer {
  return {
    image: action.image,
    dockerfile: null,
    entryPointArgs: action.args.length === 0 ? [] : splitEntryPointArgs(quoteContainerActionArgs(action.args)),
    entryPoint: action.entryPoint,
    workingDirectory: '/github/workspace',
    createOptions: null,
    registry: null,
    environmentVariables: action.environmentVariables,
    portMappings: [],
    systemMountVolumes: containerStepMountVolumes(layout),
    userMountVolumes: [],
  };
}

/** run_container_step's stdin object. */
export function containerStepInput(responseFile: string, container: HookContainer, state: unknown): HookInput {
  return { command: 'run_container_step', responseFile, args: container, state: state ?? null };
}

/** cleanup_job's stdin object. */
export function cleanupJobInput(responseFile: string, state: unknown): HookInput {
  return { command: 'cleanup_job', responseFile, args: {}, state: state ?? null };
}

/**
 * One line of compact JSON plus the newline the runner's `WriteLine` adds. Newtonsoft.Json also
 * escapes U+0085, U+2028 and U+2029, which `JSON.stringify` leaves as they are.
 */
export function serializeHookInput(input: HookInput): string {
  const json = JSON.stringify(input).replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${json}\n`;
}
