/**
 * One job through the fault proxy, as the runner runs it (prepare_job, a script step,
 * cleanup_job, cleanup whatever happened before), and the verdict on it: completed, failed with a
 * clear message, failed without one, or leaked objects.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FaultProxy } from '../../fault-proxy/proxy.js';
import { committedCreates, type RecordedRequest } from '../../fault-proxy/request-log.js';
import type { HookCall } from '../../simulator/runner.js';
import type { StartedRunner } from '../../simulator/start.js';
import { IMAGES, labelledObjects, names, type HookSuite } from '../hook/helpers.js';

/** Registry credentials make prepare_job create, and cleanup_job delete, a pull Secret. */
const CREDENTIALS = { username: 'zrh-user', password: 'zrh-fault-pass-5519' };
/** The step's own exit code, which the hook must hand back as its exit code. */
export const STEP_EXIT_CODE = 7;
/** A hook call still running after this long is killed and counted as hung. */
export const CALL_LIMIT_MS = 150_000;

export type Command = HookCall['command'];

/** What one job did and left. */
export interface FaultJob {
  readonly calls: readonly HookCall[];
  /** Calls the watchdog had to kill. */
  readonly hung: readonly Command[];
  /** Each command's requests, in order. */
  readonly requests: ReadonlyMap<Command, readonly RecordedRequest[]>;
  /** The file the script step wrote, as the runner reads it from the workspace (volume mode; undefined if absent or not looked for). */
  readonly stepFile: string | undefined;
  readonly expectedStepFile: string;
  /** Whether `stepFile` is checked: only in volume mode does the runner see the job's workspace. */
  readonly checkStepFile: boolean;
  /** What the container step read of the script step's file, as its `seen` output (when it ran). */
  readonly containerSaw: string | undefined;
  /** Objects labelled for the runner after cleanup_job. */
  readonly leftovers: { readonly pods: string[]; readonly secrets: string[]; readonly claims: string[] };
  /** Creates the API server accepted, by resource. */
  readonly creates: ReadonlyMap<string, number>;
  /** How many requests the fault hit (0 without one). */
  readonly hits: number;
}

/** Runs `call`, killing the hook if it is still running after `CALL_LIMIT_MS`. */
export async function guarded(runner: StartedRunner, call: () => Promise<HookCall>, hung: Command[], command: Command): Promise<HookCall> {
  const watchdog = setTimeout(() => {
    hung.push(command);
    runner.simulator.kill('SIGKILL');
  }, CALL_LIMIT_MS);
  try {
    return await call();
  } finally {
    clearTimeout(watchdog);
  }
}

/** How a fault job runs. */
export interface FaultJobOptions {
  /** A container step (`uses: docker://busybox`) follows the script step: it reads the script step's file and reports it as an output. */
  readonly containerStep?: boolean;
  /** The runner's workspace mode (the step file is read from the runner only in volume mode). */
  readonly mode?: 'volume' | 'copy';
  /** A fault script, active only while `command` runs (so it hits that command's requests). */
  readonly fault?: { readonly command: Command; readonly rules: string };
}

/**
 * The container step's script, written by the script step into the workspace (the runner splits a
 * container step's arguments on spaces): the script step's file, read in the step pod, as the output `seen`.
 */
const CONTAINER_STEP = (fileName: string) => `printf 'seen=%s\\n' "$(cat "/github/workspace/${fileName}")" >> "$GITHUB_OUTPUT"\n`;

/**
 * Runs one job on `runner` (its state reset first): prepare_job with registry credentials, if
 * that worked a script step that writes a file and exits with `STEP_EXIT_CODE`, optionally a
 * container step that reads that file, and cleanup_job.
 */
export async function runFaultJob(suite: HookSuite, runner: StartedRunner, proxy: FaultProxy, tag: string, options: FaultJobOptions = {}): Promise<FaultJob> {
  runner.simulator.setState(null);
  const calls: HookCall[] = [];
  const hung: Command[] = [];
  const requests = new Map<Command, RecordedRequest[]>();
  const all: RecordedRequest[] = [];
  let hits = 0;
  const run = async <T extends HookCall>(command: Command, call: () => Promise<T>): Promise<T> => {
    const mark = proxy.requests.length;
    const rules = options.fault?.command === command ? proxy.addFaults(options.fault.rules) : [];
    let result: HookCall;
    try {
      result = await guarded(runner, call, hung, command);
    } finally {
      hits += rules.reduce((n, r) => n + r.hits, 0);
      for (const r of rules) r.remove();
    }
    const mine = proxy.requests.slice(mark) as RecordedRequest[];
    requests.set(command, [...(requests.get(command) ?? []), ...mine]);
    all.push(...mine);
    calls.push(result);
    return result as T;
  };
  const fileName = `fault-${tag}.txt`;
  const expectedStepFile = `job ${tag}\n`;
  let containerSaw: string | undefined;
  const prepare = await run('prepare_job', () => runner.simulator.prepareJob({ image: IMAGES.debian, credentials: CREDENTIALS }));
  if (prepare.ok) {
    const script = options.containerStep ? `cat > "$GITHUB_WORKSPACE/${fileName}.sh" <<'EOF'\n${CONTAINER_STEP(fileName)}EOF\n` : '';
    await run('run_script_step', () => runner.simulator.runScript(`${script}echo "job ${tag}" > "$GITHUB_WORKSPACE/${fileName}"\nexit ${STEP_EXIT_CODE}\n`));
    if (options.containerStep) {
      const step = await run('run_container_step', () =>
        runner.simulator.runContainerStep({ image: IMAGES.busybox, entryPoint: 'sh', args: [`/github/workspace/${fileName}.sh`] }),
      );
      containerSaw = step.fileCommands.outputs['seen'];
    }
  }
  await run('cleanup_job', () => runner.simulator.cleanupJob());
  const checkStepFile = (options.mode ?? 'volume') === 'volume';
  const stepFile = checkStepFile ? await readFile(join(runner.layout.workspace, fileName), 'utf8').catch(() => undefined) : undefined;
  const leftovers = names(await labelledObjects(suite, runner.pod.name));
  return { calls, hung, requests, stepFile, expectedStepFile, checkStepFile, containerSaw, leftovers, creates: committedCreates(all), hits };
}

export type Verdict = 'completed' | 'failed clearly' | 'failed unclearly' | 'leaked';

/** The first `::error::` line of a call, decoded as the runner shows it. */
export function errorLine(call: HookCall): string | undefined {
  const line = call.stdout.split('\n').find((l) => l.startsWith('::error::'));
  return line?.slice('::error::'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

/** Says why, in words a user can act on: an HTTP status, a connection failure, a lost stream, a deadline. */
const SAYS_WHY = /HTTP \d{3}|ECONN[A-Z]+|EPIPE|cannot reach|connection|timed out|did not answer|gave up|result is unknown|deadline/i;
/** Signs of an error nobody wrote for a user. */
const VAGUE = /\bundefined\b|\[object Object\]|TypeError|ReferenceError|Cannot read propert/;

/**
 * Advice the shipped Role refuses on purpose: reading Secrets (a list returns every Secret's data,
 * ADR 0002). A message that asks an operator for it sends them the wrong way.
 */
const WRONG_ADVICE = /resources \["secrets"\], verbs \[[^\]]*"(get|list|watch)"/;

/** Whether an error line is a clear message: it says why, in words written for a user, and its advice is sound. */
export function isClear(line: string | undefined): boolean {
  return line !== undefined && SAYS_WHY.test(line) && !VAGUE.test(line) && !WRONG_ADVICE.test(line);
}

/** The verdict on a job, with what decided it. */
export function judge(job: FaultJob): { readonly verdict: Verdict; readonly detail: string } {
  // One pod and one Secret for the job, one of each more for a container step.
  const expected = job.calls.some((c) => c.command === 'run_container_step') ? 2 : 1;
  const duplicates = [...job.creates].filter(([resource, n]) => (resource === 'pods' || resource === 'secrets') && n > expected);
  const left = [...job.leftovers.pods, ...job.leftovers.secrets, ...job.leftovers.claims];
  if (duplicates.length || left.length) {
    const what = [...duplicates.map(([r, n]) => `${n} ${r} created`), ...(left.length ? [`left: ${left.join(', ')}`] : [])];
    return { verdict: 'leaked', detail: what.join('; ') };
  }
  if (job.hung.length) return { verdict: 'failed unclearly', detail: `${job.hung.join(', ')} still running after ${CALL_LIMIT_MS / 1000} s, killed` };
  const prepare = job.calls.find((c) => c.command === 'prepare_job');
  const step = job.calls.find((c) => c.command === 'run_script_step');
  const container = job.calls.find((c) => c.command === 'run_container_step');
  const cleanup = job.calls.find((c) => c.command === 'cleanup_job');
  const failed =
    prepare && !prepare.ok
      ? prepare
      : step && step.exitCode !== STEP_EXIT_CODE
        ? step
        : container && !container.ok
          ? container
          : cleanup && !cleanup.ok
            ? cleanup
            : undefined;
  if (!failed) {
    if (job.checkStepFile && job.stepFile !== job.expectedStepFile)
      return { verdict: 'failed unclearly', detail: `every command succeeded but the step's file holds ${JSON.stringify(job.stepFile)}` };
    if (container && `${job.containerSaw ?? ''}\n` !== job.expectedStepFile) {
      return {
        verdict: 'failed unclearly',
        detail: `every command succeeded but the container step saw ${JSON.stringify(job.containerSaw)} in the step's file`,
      };
    }
    return { verdict: 'completed', detail: '' };
  }
  const line = errorLine(failed);
  const how = `${failed.command} exit ${String(failed.exitCode ?? failed.signal)}`;
  return isClear(line)
    ? { verdict: 'failed clearly', detail: `${how}: ${line ?? ''}` }
    : { verdict: 'failed unclearly', detail: `${how}: ${line ?? 'no ::error:: line'}` };
}
