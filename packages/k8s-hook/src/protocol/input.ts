import * as z from 'zod';
import { HookError } from '../errors.js';
import { formatIssues } from './issues.js';

/** The hook commands the runner sends. */
export const COMMANDS = ['prepare_job', 'cleanup_job', 'run_script_step', 'run_container_step'] as const;
export type CommandName = (typeof COMMANDS)[number];

const optionalString = z.string().nullish().transform((v) => v ?? undefined);
const stringList = z
  .array(z.string().nullable())
  .nullish()
  .transform((v) => (v ?? []).map((s) => s ?? ''));
/** Env maps: keys keep their case; a null value is treated as the empty string. */
const envMap = z
  .record(z.string(), z.string().nullable())
  .nullish()
  .transform((v) => {
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v ?? {})) out[k] = val ?? '';
    return out;
  });

const mountVolumeSchema = z.looseObject({
  userProvidedValue: optionalString,
  sourceVolumePath: optionalString,
  targetVolumePath: z.string(),
  readOnly: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
});
/** A volume the runner asks to mount (`systemMountVolumes`, `userMountVolumes`). */
export type MountVolume = z.output<typeof mountVolumeSchema>;

const registrySchema = z.looseObject({
  username: optionalString,
  password: optionalString,
  serverUrl: optionalString,
});
/** Registry credentials of one container; `serverUrl` undefined or `""` means Docker Hub. */
export type Registry = z.output<typeof registrySchema>;

const mountList = z
  .array(mountVolumeSchema)
  .nullish()
  .transform((v) => v ?? []);

/** The runner's `HookContainer`: the job container, a service, or a container step. */
export const containerSchema = z.looseObject({
  image: optionalString,
  dockerfile: optionalString,
  entryPointArgs: stringList,
  entryPoint: optionalString,
  workingDirectory: optionalString,
  createOptions: optionalString,
  registry: registrySchema.nullish().transform((v) => v ?? undefined),
  environmentVariables: envMap,
  portMappings: stringList,
  systemMountVolumes: mountList,
  userMountVolumes: mountList,
});
export type HookContainer = z.output<typeof containerSchema>;

/** A container that must name an image (job container, services). */
const imageContainerSchema = containerSchema.extend({ image: z.string().min(1) });
export type ImageContainer = z.output<typeof imageContainerSchema>;

export const prepareJobArgsSchema = z.looseObject({
  container: imageContainerSchema.nullish().transform((v) => v ?? undefined),
  services: z
    .array(imageContainerSchema)
    .nullish()
    .transform((v) => v ?? []),
});
export type PrepareJobArgs = z.output<typeof prepareJobArgsSchema>;

export const runScriptStepArgsSchema = z.looseObject({
  entryPoint: z.string().min(1),
  entryPointArgs: stringList,
  environmentVariables: envMap,
  prependPath: z
    .union([z.array(z.string().nullable()), z.string()])
    .nullish()
    .transform((v): string[] => {
      if (v === null || v === undefined) return [];
      if (typeof v === 'string') return v === '' ? [] : [v];
      return v.filter((p): p is string => typeof p === 'string' && p !== '');
    }),
  workingDirectory: optionalString,
});
export type RunScriptStepArgs = z.output<typeof runScriptStepArgsSchema>;

export const runContainerStepArgsSchema = containerSchema;
export type RunContainerStepArgs = z.output<typeof runContainerStepArgsSchema>;

const cleanupJobArgsSchema = z
  .looseObject({})
  .nullish()
  .transform(() => ({}));

const envelope = <C extends CommandName, A extends z.ZodType>(command: C, args: A) =>
  z.looseObject({
    command: z.literal(command),
    responseFile: z.string().min(1),
    args,
    state: z.unknown().optional(),
  });

const envelopeHeadSchema = z.looseObject({ command: z.enum(COMMANDS), responseFile: z.string().min(1) });

export const hookInputSchema = z.discriminatedUnion('command', [
  envelope('prepare_job', prepareJobArgsSchema),
  envelope('cleanup_job', cleanupJobArgsSchema),
  envelope('run_script_step', runScriptStepArgsSchema),
  envelope('run_container_step', runContainerStepArgsSchema),
]);
/** The validated stdin of one hook call. `state` is checked by each command. */
export type HookInput = z.output<typeof hookInputSchema>;

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
  // The command picks the schema; report it (and the response file) first when it is unusable.
  const head = envelopeHeadSchema.safeParse(json, { reportInput: true });
  const result = head.success ? hookInputSchema.safeParse(json, { reportInput: true }) : head;
  if (!result.success) {
    const lines = formatIssues(result.error.issues);
    throw new HookError('INPUT_INVALID', `Invalid hook input:\n  ${lines.join('\n  ')}`, {
      hint: 'The hook expects the JSON the GitHub Actions runner sends (ACTIONS_RUNNER_CONTAINER_HOOKS).',
    });
  }
  return result.data;
}
