import { check as c, type Issue, type Output } from '@zfs-runner-hooks/vocabulary';
import { HookError } from '../errors.js';

/** The hook commands the runner sends. */
export const COMMANDS = ['prepare_job', 'cleanup_job', 'run_script_step', 'run_container_step'] as const;
export type CommandName = (typeof COMMANDS)[number];

const optionalString = c.nullish(c.string());
const stringList = c.map(c.nullish(c.array(c.nullable(c.string())), []), (v) => v.map((s) => s ?? ''));
/** Env maps: keys keep their case; a null value is treated as the empty string. */
const envMap = c.map(c.nullish(c.record(c.nullable(c.string())), {}), (v) => {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) out[k] = val ?? '';
  return out;
});

const mountVolumeSchema = c.object({
  userProvidedValue: optionalString,
  sourceVolumePath: optionalString,
  targetVolumePath: c.string(),
  readOnly: c.nullish(c.boolean(), false),
});
/** A volume the runner asks to mount (`systemMountVolumes`, `userMountVolumes`). */
export type MountVolume = Output<typeof mountVolumeSchema>;

const registrySchema = c.object({
  username: optionalString,
  password: optionalString,
  serverUrl: optionalString,
});
/** Registry credentials of one container; `serverUrl` undefined or `""` means Docker Hub. */
export type Registry = Output<typeof registrySchema>;

const mountList = c.nullish(c.array(mountVolumeSchema), []);

/** The runner's `HookContainer`: the job container, a service, or a container step. */
export const containerSchema = c.object({
  image: optionalString,
  dockerfile: optionalString,
  entryPointArgs: stringList,
  entryPoint: optionalString,
  workingDirectory: optionalString,
  createOptions: optionalString,
  registry: c.nullish(registrySchema),
  environmentVariables: envMap,
  portMappings: stringList,
  systemMountVolumes: mountList,
  userMountVolumes: mountList,
});
export type HookContainer = Output<typeof containerSchema>;

/** A container that must name an image (job container, services). */
const imageContainerSchema = c.extend(containerSchema, { image: c.string({ min: 1 }) });
export type ImageContainer = Output<typeof imageContainerSchema>;

export const prepareJobArgsSchema = c.object({
  container: c.nullish(imageContainerSchema),
  services: c.nullish(c.array(imageContainerSchema), []),
});
export type PrepareJobArgs = Output<typeof prepareJobArgsSchema>;

export const runScriptStepArgsSchema = c.object({
  entryPoint: c.string({ min: 1 }),
  entryPointArgs: stringList,
  environmentVariables: envMap,
  prependPath: c.map(c.nullish(c.anyOf(c.array(c.nullable(c.string())), c.string())), (v): string[] => {
    if (v === undefined) return [];
    if (typeof v === 'string') return v === '' ? [] : [v];
    return v.filter((p): p is string => typeof p === 'string' && p !== '');
  }),
  workingDirectory: optionalString,
});
export type RunScriptStepArgs = Output<typeof runScriptStepArgsSchema>;

export const runContainerStepArgsSchema = containerSchema;
export type RunContainerStepArgs = Output<typeof runContainerStepArgsSchema>;

const cleanupJobArgsSchema = c.map(c.nullish(c.object({})), () => ({}));

const envelopeSchema = c.object({
  command: c.oneOf(COMMANDS),
  responseFile: c.string({ min: 1 }),
  state: c.unknown(),
});

/** The whole stdin of `command`: the envelope with that command's args. */
const inputOf = <C extends CommandName, A>(command: C, args: c.Check<A>) =>
  c.object({ command: c.literal(command), responseFile: envelopeSchema.shape.responseFile, args, state: envelopeSchema.shape.state });

const INPUTS = {
  prepare_job: inputOf('prepare_job', prepareJobArgsSchema),
  cleanup_job: inputOf('cleanup_job', cleanupJobArgsSchema),
  run_script_step: inputOf('run_script_step', runScriptStepArgsSchema),
  run_container_step: inputOf('run_container_step', runContainerStepArgsSchema),
} as const;

/** The validated stdin of one hook call. `state` is checked by each command. */
export type HookInput = Output<(typeof INPUTS)[CommandName]>;

/**
 * Parses the runner's stdin. Throws an `INPUT_INVALID` HookError listing every problem with its
 * path, e.g. `args.container.image: expected string, got null`.
 */
export function parseHookInput(text: string): HookInput {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const what = text.trim() === '' ? 'stdin was empty' : `stdin is not JSON (${(err as Error).message})`;
    throw new HookError('INPUT_INVALID', `Invalid hook input: ${what}`, {
      cause: err,
      hint: 'The hook expects one JSON object from the GitHub Actions runner on stdin.',
    });
  }
  // The command picks the args check; report it (and the response file) first when it is unusable.
  const issues: Issue[] = [];
  const head = envelopeSchema.run(json, [], issues);
  if (head !== c.INVALID && issues.length === 0) {
    const input: HookInput | typeof c.INVALID = INPUTS[head.command].run(json, [], issues);
    if (input !== c.INVALID && issues.length === 0) return input;
  }
  throw new HookError('INPUT_INVALID', `Invalid hook input:\n  ${c.formatIssues(issues).join('\n  ')}`, {
    hint: 'The hook expects the JSON the GitHub Actions runner sends (ACTIONS_RUNNER_CONTAINER_HOOKS).',
  });
}
