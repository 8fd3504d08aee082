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
  /** The file the step wrote, as the runner reads it from the workspace (undefined if absent). */
  readonly stepFile: string | undefined;
  readonly expectedStepFile: string;
  /** Objects labelled for the runner after cleanup_job. */
  readonly leftovers: { readonly pods: string[]; readonly secrets: string[]; readonly claims: string[] };
  /** Creates the API server accepted, by resource. */
  readonly creates: ReadonlyMap<string, number>;
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

/**
 * Runs one job on `runner` (its state reset first): prepare_job with registry credentials, if
 * that worked a script step that writes a file and exits with `STEP_EXIT_CODE`, and cleanup_job.
 */
export async function runFaultJob(suite: HookSuite, runner: StartedRunner, proxy: FaultProxy, tag: string): Promise<FaultJob> {
  runner.simulator.setState(null);
  const calls: HookCall[] = [];
  const hung: Command[] = [];
  const requests = new Map<Command, RecordedRequest[]>();
  const all: RecordedRequest[] = [];
  const run = async (command: Command, call: () => Promise<HookCall>) => {
    const mark = proxy.requests.length;
    const result = await guarded(runner, call, hung, command);
    const mine = proxy.requests.slice(mark) as RecordedRequest[];
    requests.set(command, [...(requests.get(command) ?? []), ...mine]);
    all.push(...mine);
    calls.push(result);
    return result;
  };
  const fileName = `fault-${tag}.txt`;
  const expectedStepFile = `job ${tag}\n`;
  const prepare = await run('prepare_job', () => runner.simulator.prepareJob({ image: IMAGES.debian, credentials: CREDENTIALS }));
  if (prepare.ok) {
    await run('run_script_step', () => runner.simulator.runScript(`echo "job ${tag}" > "$GITHUB_WORKSPACE/${fileName}"\nexit ${STEP_EXIT_CODE}\n`));
  }
  await run('cleanup_job', () => runner.simulator.cleanupJob());
  const stepFile = await readFile(join(runner.layout.workspace, fileName), 'utf8').catch(() => undefined);
  const leftovers = names(await labelledObjects(suite, runner.pod.name));
  return { calls, hung, requests, stepFile, expectedStepFile, leftovers, creates: committedCreates(all) };
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
  const duplicates = [...job.creates].filter(([resource, n]) => (resource === 'pods' || resource === 'secrets') && n > 1);
  const left = [...job.leftovers.pods, ...job.leftovers.secrets, ...job.leftovers.claims];
  if (duplicates.length || left.length) {
    const what = [...duplicates.map(([r, n]) => `${n} ${r} created`), ...(left.length ? [`left: ${left.join(', ')}`] : [])];
    return { verdict: 'leaked', detail: what.join('; ') };
  }
  if (job.hung.length) return { verdict: 'failed unclearly', detail: `${job.hung.join(', ')} still running after ${CALL_LIMIT_MS / 1000} s, killed` };
  const prepare = job.calls.find((c) => c.command === 'prepare_job');
  const step = job.calls.find((c) => c.command === 'run_script_step');
  const cleanup = job.calls.find((c) => c.command === 'cleanup_job');
  const failed =
    prepare && !prepare.ok ? prepare : step && step.exitCode !== STEP_EXIT_CODE ? step : cleanup && !cleanup.ok ? cleanup : undefined;
  if (!failed) {
    if (job.stepFile !== job.expectedStepFile) return { verdict: 'failed unclearly', detail: `every command succeeded but the step's file holds ${JSON.stringify(job.stepFile)}` };
    return { verdict: 'completed', detail: '' };
  }
  const line = errorLine(failed);
  const how = `${failed.command} exit ${String(failed.exitCode ?? failed.signal)}`;
  return isClear(line) ? { verdict: 'failed clearly', detail: `${how}: ${line ?? ''}` } : { verdict: 'failed unclearly', detail: `${how}: ${line ?? 'no ::error:: line'}` };
}
