/** What a command run in the job container gave: its exit code and (the start of) its stderr. */
export interface CommandResult {
  readonly exitCode: number;
  readonly stderr: string;
}

/**
 * Runs a command in the job container (the hook's exec). Rejects only when the command could not
 * be run or its result is unknown; a non-zero exit code is a result.
 */
export type RunInJob = (command: readonly string[]) => Promise<CommandResult>;

/** How the clone was flushed. */
export interface FlushResult {
  /** The commands run, in order. */
  readonly commands: readonly (readonly string[])[];
  /** `sync` has no `-f`, so every file system of the container was flushed instead of the clone's. */
  readonly fellBack: boolean;
}

/**
 * The command that flushes the clone's file system alone (`syncfs(2)` on the mount path): a global
 * `sync` also writes back every other file system the container sees, which costs far more on a
 * busy node. GNU coreutils (≥ 8.24) and BusyBox (≥ 1.24) know `-f`. Without a mount path (a state
 * written before it was recorded) it is a plain `sync`.
 */
export function flushCommand(mountPath: string | undefined): readonly string[] {
  return mountPath ? ['sync', '-f', mountPath] : ['sync'];
}

/**
 * Whether `sync`'s error output says it does not know an option (older coreutils: `invalid option
 * -- 'f'`; musl: `unrecognized option: f`; toybox: `Unknown option 'f'`; BSD: `illegal option`),
 * as opposed to a real failure such as `error syncing '/CONAN_HOME': Input/output error`.
 */
export function isUnknownOptionError(stderr: string): boolean {
  return /\b(?:invalid|unrecogni[sz]ed|unknown|illegal|unsupported) option\b/i.test(stderr);
}

function describe(command: readonly string[], result: CommandResult): string {
  const said = result.stderr.trim().split('\n').slice(0, 3).join('; ');
  return `\`${command.join(' ')}\` exited with ${result.exitCode} in the job container${said ? `: ${said}` : ''}`;
}

/**
 * Flushes the clone before a snapshot: `sync -f <mountPath>`, or a plain `sync` when the
 * container's `sync` does not know `-f` (only then: a plain `sync` cannot report a write error,
 * so any other failure of `sync -f` is thrown, with the command's exit code and error output).
 */
export async function flushClone(run: RunInJob, mountPath: string | undefined): Promise<FlushResult> {
  const command = flushCommand(mountPath);
  const result = await run(command);
  if (result.exitCode === 0) return { commands: [command], fellBack: false };
  if (command.length === 1 || !isUnknownOptionError(result.stderr)) throw new Error(describe(command, result));
  const plain = flushCommand(undefined);
  const fallback = await run(plain);
  if (fallback.exitCode !== 0) throw new Error(`${describe(plain, fallback)} (after \`${command.join(' ')}\`: ${result.stderr.trim().split('\n')[0] ?? ''})`);
  return { commands: [command, plain], fellBack: true };
}
