/** A valid shell (and POSIX environment) variable name. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Quotes `value` for a POSIX shell so that it is read back byte for byte. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A name the environment can carry but a shell cannot `export`, such as the runner's
 * `INPUT_FETCH-DEPTH` for hyphenated action inputs. Such variables go through `env NAME=value`.
 */
const ENV_ONLY_NAME = /^[^=\0]+$/;

/** An env file and the variables that could not go into it. */
export interface EnvFile {
  /** `export NAME='value'` lines, sourced by the step loader. */
  readonly text: string;
  /** Names no environment can carry (empty, or containing `=`): reported, not passed. */
  readonly skipped: readonly string[];
}

/**
 * Renders the step environment as a file a POSIX shell sources: every value single-quoted, so
 * quotes, `$`, backslashes, newlines and any unicode arrive unchanged. `prependPath` (most recent
 * first) is put in front of `PATH`.
 */
export function renderEnvFile(env: Readonly<Record<string, string>>, prependPath: readonly string[]): EnvFile {
  const lines: string[] = [];
  const skipped: string[] = [];
  let envOnly = 0;
  for (const [name, value] of Object.entries(env)) {
    if (ENV_NAME.test(name)) {
      lines.push(`export ${name}=${shellQuote(value)}`);
    } else if (ENV_ONLY_NAME.test(name)) {
      // Not a shell variable name: handed to `env` by the loader (unexported shell variables).
      lines.push(`__zrh_e${envOnly}=${shellQuote(`${name}=${value}`)}`);
      envOnly += 1;
    } else {
      skipped.push(name);
    }
  }
  if (envOnly > 0) lines.push(`__zrh_n=${envOnly}`);
  if (prependPath.length > 0) lines.push(`export PATH=${shellQuote(prependPath.join(':'))}"\${PATH:+:\$PATH}"`);
  return { text: lines.length ? `${lines.join('\n')}\n` : '', skipped };
}

/**
 * The fixed loader every script step runs as `sh -c LOADER zrh <untarDir> <envFile> <pidFile>
 * <workdir> <entryPoint> <args…>`. It optionally extracts a tar from stdin (copy mode), sources the
 * env file and empties it, records its pid (the step's pid after `exec`) for cancellation, enters
 * the working directory and execs the step, so no argument is ever re-parsed by a shell. Variables
 * whose names a shell cannot export are put in front as `env NAME=value … <entryPoint> <args…>`.
 */
export const STEP_LOADER = [
  'set -e',
  // Read stdin to its end: busybox tar stops at the end-of-archive blocks, before the padding.
  'if [ -n "$1" ]; then tar -xf - -C "$1"; cat > /dev/null; fi',
  '__zrh_n=0',
  '. "$2"',
  // In a subshell: a failed redirection of the special builtin `:` would end a POSIX shell (dash).
  '( : > "$2" ) 2>/dev/null || :',
  '{ echo "$$" > "$3"; } 2>/dev/null || :',
  'cd "$4"',
  'shift 4',
  String.raw`while [ "$__zrh_n" -gt 0 ]; do __zrh_n=$((__zrh_n - 1)); eval "set -- \"\$__zrh_e$__zrh_n\" \"\$@\""; done`,
  'case "$1" in *=*) set -- env "$@";; esac',
  'exec "$@"',
].join('\n');

/**
 * Reads the step's pid from the pid file the positional parameter `file` names into `p`, and ends
 * the script (status 0, doing nothing) unless it holds a pid above 1. The pid file is the job's to
 * write: `0` and `-1` would make `kill` signal the script's own process group or every process it
 * may signal, `1` names the container's init, and `0` is the process group of the kernel's threads
 * in /proc. A pid has at most 7 digits (`pid_max` is at most 4194304) and no leading zero.
 */
function readStepPid(file: '$1' | '$2'): string[] {
  return [`p=$(cat "${file}" 2>/dev/null) || exit 0`, 'case "$p" in ""|*[!0-9]*|0*|1|????????*) exit 0;; esac'];
}

/** Stops a step started by the loader: its process group if it leads one, else the process. */
export const STEP_KILLER = [...readStepPid('$2'), 'kill -"$1" -"$p" 2>/dev/null || kill -"$1" "$p" 2>/dev/null || true'].join('\n');

/**
 * Prints the pids of a step's live processes: the recorded pid and every process of its process
 * group (the runtime starts each exec as a process group leader), zombies left out (the job
 * container's PID 1 does not reap). Prints nothing when no pid (above 1) was recorded.
 */
export const STEP_PROCESSES = [
  ...readStepPid('$1'),
  'for s in /proc/[0-9]*/stat; do',
  '  read -r q rest 2>/dev/null < "$s" || continue',
  '  rest=${rest##*) }; set -- $rest',
  '  [ "$1" = Z ] && continue',
  '  if [ "$q" = "$p" ] || [ "$3" = "$p" ]; then echo "$q"; fi',
  'done',
  'exit 0',
].join('\n');

/** The exec command that prints the live pids of a step (`STEP_PROCESSES`). */
export function stepProcessesCommand(pidFile: string): string[] {
  return ['sh', '-c', STEP_PROCESSES, 'zrh', pidFile];
}

/** Inputs of `scriptStepCommand`. */
export interface ScriptStepCommand {
  /** Extract a tar stream from stdin here first (copy mode), or undefined. */
  readonly untarDir: string | undefined;
  readonly envFile: string;
  readonly pidFile: string;
  readonly workingDirectory: string;
  readonly entryPoint: string;
  readonly args: readonly string[];
}

/** The exec command of a script step. */
export function scriptStepCommand(c: ScriptStepCommand): string[] {
  return ['sh', '-c', STEP_LOADER, 'zrh', c.untarDir ?? '', c.envFile, c.pidFile, c.workingDirectory, c.entryPoint, ...c.args];
}

/** The exec command that sends `signal` (e.g. `TERM`) to a running step. */
export function killStepCommand(pidFile: string, signal: 'INT' | 'TERM' | 'KILL'): string[] {
  return ['sh', '-c', STEP_KILLER, 'zrh', signal, pidFile];
}

/**
 * The runner's entryPointArgs as argv: one layer of surrounding double quotes removed (JavaScript
 * actions arrive as `"\"/__w/_actions/…/index.js\""`), empty items dropped.
 */
export function normalizeArgs(args: readonly string[]): string[] {
  return args.map((a) => (a.length >= 2 && a.startsWith('"') && a.endsWith('"') ? a.slice(1, -1) : a)).filter((a) => a !== '');
}
