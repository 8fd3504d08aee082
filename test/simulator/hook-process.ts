import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';

/** How to launch the hook, like the runner does: `<node> <hook.js>` with stdin, cwd and env. */
export interface HookProcessSpec {
  readonly node: string;
  readonly hookPath: string;
  readonly cwd: string;
  /** The complete environment of the process (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
  /** Written to stdin, which is then closed. */
  readonly stdin: string;
  /** Called with each chunk of output as it arrives. */
  readonly onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Run the process as this user (e.g. the runner's uid 1001). @default the current user */
  readonly user?: { readonly uid: number; readonly gid: number };
  /**
   * Scheduling priority (nice value, -20..19) given to the process as it starts. A test that acts
   * on what the hook prints lowers it, so that on a busy machine the test reacts before the hook
   * has gone much further. @default inherited
   */
  readonly priority?: number;
}

/** How a hook process ended. */
export interface HookProcessResult {
  /** Exit code, or null when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended it, if any. */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/** A running hook process. */
export interface HookProcess {
  readonly pid: number | undefined;
  /** Resolves when the process has exited and its output is closed. */
  readonly done: Promise<HookProcessResult>;
  /** Sends `signal` to the process; false when it has already exited. */
  kill(signal: NodeJS.Signals): boolean;
}

/** How many times a launch refused with ETXTBSY is tried again, 10 ms apart. */
const TEXT_BUSY_RETRIES = 20;

/**
 * Spawns `<node> <hook.js>`. Linux refuses to run a file that a process holds open for writing
 * (ETXTBSY): a child this process forks while another runner's node binary is being copied holds
 * that file open until it runs its own program, a moment later; the launch is then tried again.
 */
function spawnHook(spec: HookProcessSpec): ChildProcess {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return spawn(spec.node, [spec.hookPath], {
        cwd: spec.cwd,
        env: { ...spec.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        ...(spec.user ? { uid: spec.user.uid, gid: spec.user.gid } : {}),
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ETXTBSY' || attempt >= TEXT_BUSY_RETRIES) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/** Starts the hook as a separate process and collects its output. */
export function startHookProcess(spec: HookProcessSpec): HookProcess {
  const started = performance.now();
  const child = spawnHook(spec);
  if (spec.priority !== undefined && child.pid !== undefined) setPriority(child.pid, spec.priority);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    spec.onOutput?.(chunk, 'stdout');
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    spec.onOutput?.(chunk, 'stderr');
  });
  // A hook that exits without reading stdin closes the pipe under us; that is its business.
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(spec.stdin, 'utf8');

  const done = new Promise<HookProcessResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode, signal) => {
      resolve({ exitCode, signal, stdout, stderr, durationMs: performance.now() - started });
    });
  });
  return {
    pid: child.pid,
    done,
    kill: (signal) => child.exitCode === null && child.signalCode === null && child.kill(signal),
  };
}
