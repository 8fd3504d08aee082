/** What a command run in the job container gave: its exit code and (the start of) its stderr. */
export interface CommandResult {
  readonly exitCode: number;
  readonly stderr: string;
}

/**
 * Runs a command in the job container (the hook's exec). Rejects only when the command could not
 * be run or its result is unknown; a non-zero exit code is a result.
 */
export type RunInJob = (command: readonly string[], options?: RunInJobOptions) => Promise<CommandResult>;

/** How a command in the job container is run. */
export interface RunInJobOptions {
  /** The command's deadline: past it, the exec is closed and the call rejects. */
  readonly timeoutMs?: number;
}

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
 * Stops every process of the job container but its main process (PID 1: it keeps the container,
 * and with it the pod, alive) and the stopping shell itself: SIGTERM, up to 2 s for them to end,
 * then SIGKILL, then a check. A process that is still running (not a zombie: PID 1 of the job
 * container never reaps) and that this user may signal fails the command with exit code 3. A step
 * still writing while the snapshot is taken would put half-written files into the cache.
 * Processes of another user (one the container's user may not signal) are counted on stderr.
 */
export const STOP_JOB_PROCESSES_SCRIPT = [
  // Sets `mine` (pids this user may signal) and `others`, skipping PID 1, this shell, its own
  // children (`sleep`) and zombies. Builtins only: a forked subshell would count itself.
  'scan() {',
  '  mine=; others=0',
  '  for s in /proc/[0-9]*/stat; do',
  '    read -r p rest 2>/dev/null < "$s" || continue',
  '    rest=${rest##*) }; set -- $rest',
  '    case "$p" in 1|$$) continue;; esac',
  '    [ "$1" = Z ] || [ "$2" = $$ ] && continue',
  '    if kill -0 "$p" 2>/dev/null; then mine="$mine $p"; else others=$((others + 1)); fi',
  '  done',
  '}',
  'wait_gone() { n=0; scan; while [ -n "$mine" ] && [ $n -lt $1 ]; do sleep 0.1; n=$((n + 1)); scan; done; }',
  'scan',
  'if [ -n "$mine" ]; then',
  '  kill -TERM -1 2>/dev/null; wait_gone 20',
  '  [ -n "$mine" ] && { kill -KILL -1 2>/dev/null; wait_gone 10; }',
  '  [ -n "$mine" ] && { echo "processes still running after SIGKILL:$mine" >&2; exit 3; }',
  'fi',
  '[ "$others" -gt 0 ] && echo "$others process(es) of another user left running" >&2',
  'exit 0',
].join('\n');

/** The command `stopJobProcesses` runs in the job container. */
export const STOP_JOB_PROCESSES: readonly string[] = ['sh', '-c', STOP_JOB_PROCESSES_SCRIPT, 'zrh-stop'];

/**
 * Stops the job's processes before its clone is flushed and snapshotted
 * (`STOP_JOB_PROCESSES_SCRIPT`). Rejects when they could not be stopped or the result is unknown.
 * Resolves with what the command said about other users' processes, if anything.
 */
export async function stopJobProcesses(run: RunInJob): Promise<string | undefined> {
  const result = await run(STOP_JOB_PROCESSES);
  if (result.exitCode !== 0) {
    const said = result.stderr.trim().split('\n').slice(0, 3).join('; ');
    throw new Error(`stopping the job's processes before the snapshot failed (exit ${result.exitCode})${said ? `: ${said}` : ''}`);
  }
  return result.stderr.trim() || undefined;
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
