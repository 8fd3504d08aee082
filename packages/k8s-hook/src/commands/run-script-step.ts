import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { CancelledError, errorCode, HookError, StepFailedError } from '../errors.js';
import { TextSink } from '../kube/tar.js';
import { JOB_CONTAINER } from '../pod/containers.js';
import type { RunScriptStepArgs } from '../protocol/input.js';
import { writeResponse } from '../protocol/response.js';
import type { JobState } from '../protocol/state.js';
import { killStepCommand, normalizeArgs, renderEnvFile, scriptStepCommand, stepProcessesCommand } from '../workspace/env-file.js';
import { removeStepFiles, writeEnvFile } from '../workspace/local.js';
import { workspaceFor } from '../workspace/modes/index.js';
import { CONTAINER_WORK, HOOK_TEMP_REL } from '../workspace/paths.js';
import { planStepCopy } from '../workspace/step-files.js';
import type { CommandContext } from './context.js';

/** How long a cancelled step gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5000;
/** Deadline of each exec that signals or checks a step's processes. */
const PROBE_TIMEOUT_MS = 15_000;

/**
 * run_script_step: runs the step in the `job` container through a fixed loader (env from a
 * sourced file, argv passed as-is), streams its output, brings the file commands back, and fails
 * with the step's own exit code. A lost exec stream is a failure; SIGINT/SIGTERM stop the remote
 * process first.
 */
export async function runScriptStep(ctx: CommandContext, args: RunScriptStepArgs, rawState: unknown, responseFile: string): Promise<void> {
  const state = await ctx.states.open(rawState, responseFile);
  if (!state.jobPod || !state.hasJobContainer) throw new HookError('STATE_INVALID', 'This job has no job container to run the step in');
  const ws = state.workspace;
  const workspace = workspaceFor(ctx, ws);
  const target = { namespace: state.namespace, pod: state.jobPod, container: JOB_CONTAINER };
  const id = randomBytes(6).toString('hex');
  await ctx.states.markStep(id, 'start');
  const argv = normalizeArgs(args.entryPointArgs);
  const env = renderEnvFile(args.environmentVariables, args.prependPath);
  if (env.skipped.length) ctx.log.warning(`Not passed to the step (names an environment cannot carry): ${env.skipped.join(', ')}`);
  const envRel = await writeEnvFile(ws.workDir, id, env.text);
  const plan = planStepCopy({ entryPoint: args.entryPoint, args: argv, copiedActions: ws.copiedActions, copiedExternals: ws.copiedExternals });

  let exitCode: number;
  try {
    await workspace.sendExternals(target, plan.newExternals);
    const input = await workspace.stepInput(plan, envRel);
    exitCode = await execStep(ctx, target, input.stdin, {
      untarDir: input.untarDir,
      envFile: `${CONTAINER_WORK}/${envRel}`,
      pidFile: `${CONTAINER_WORK}/${HOOK_TEMP_REL}/${id}.pid`,
      workingDirectory: args.workingDirectory ?? CONTAINER_WORK,
      entryPoint: args.entryPoint,
      args: argv,
    });
    await input.sent;
    await workspace.collectScriptStep(target);
  } finally {
    await removeStepFiles(ws.workDir, id);
  }

  const next: JobState = {
    ...state,
    workspace: { ...ws, copiedActions: [...ws.copiedActions, ...plan.newActions], copiedExternals: [...ws.copiedExternals, ...plan.newExternals] },
    steps: { run: state.steps.run + 1, failed: state.steps.failed + (exitCode === 0 ? 0 : 1) },
  };
  await writeResponse(responseFile, { state: await ctx.states.seal(next) });
  if (exitCode === 0) await ctx.states.markStep(id, 'ok');
  if (exitCode !== 0) throw new StepFailedError(exitCode, `The step exited with code ${exitCode}`);
}

async function execStep(
  ctx: CommandContext,
  target: { namespace: string; pod: string; container: string },
  stdin: Readable | undefined,
  cmd: Parameters<typeof scriptStepCommand>[0],
): Promise<number> {
  const stop = new AbortController();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.pipe(ctx.stdout, { end: false });
  stderr.pipe(ctx.stderr, { end: false });
  let cancelled: NodeJS.Signals | undefined;
  const onCancel = () => {
    cancelled = (ctx.signal.reason as NodeJS.Signals | undefined) ?? 'SIGTERM';
    void stopRemote(ctx, target, cmd.pidFile).finally(() => stop.abort());
  };
  if (ctx.signal.aborted) throw new CancelledError((ctx.signal.reason as NodeJS.Signals | undefined) ?? 'SIGTERM');
  ctx.signal.addEventListener('abort', onCancel, { once: true });
  try {
    const { exitCode } = await ctx.client.exec({
      ...target,
      command: scriptStepCommand(cmd),
      ...(stdin ? { stdin } : {}),
      stdout,
      stderr,
      signal: stop.signal,
    });
    if (cancelled) throw new CancelledError(cancelled);
    return exitCode;
  } catch (err) {
    if (cancelled) throw new CancelledError(cancelled);
    if (errorCode(err) === 'EXEC_STREAM_LOST') {
      // The step may still run in the pod: stopped, so it cannot write into what cleanup snapshots.
      const stopped = await stopLostStep(ctx, target, cmd.pidFile);
      throw new HookError(
        'EXEC_LOST',
        `The connection to the step in pod ${target.pod} was lost before it reported an exit status; the step's result is unknown. ${stopped}`,
        {
          cause: err,
          hint: 'The step is treated as failed. Check the API server, the node and the pod (kubectl describe pod).',
        },
      );
    }
    if (errorCode(err) === 'CONNECTION_FAILED') {
      // The exec request may have reached the API server (and the step started) before the
      // connection failed: what runs is stopped, as after a lost stream.
      const stopped = await stopLostStep(ctx, target, cmd.pidFile);
      throw new HookError(
        'EXEC_LOST',
        `Starting the step in pod ${target.pod} failed: ${(err as Error).message}. The step may have started before the connection failed; its result is unknown. ${stopped}`,
        {
          cause: err,
          hint: 'The step is treated as failed. Check the API server and the network between the runner and it.',
        },
      );
    }
    throw err;
  } finally {
    ctx.signal.removeEventListener('abort', onCancel);
    stdout.unpipe(ctx.stdout);
    stderr.unpipe(ctx.stderr);
  }
}

/**
 * After a lost exec stream: stops what is left of the step (SIGTERM, a grace period, SIGKILL) and
 * checks with another exec that none of its processes runs. Says what it found; never throws.
 */
async function stopLostStep(ctx: CommandContext, target: { namespace: string; pod: string; container: string }, pidFile: string): Promise<string> {
  const running = () => stepProcesses(ctx, target, pidFile);
  try {
    if ((await running()).length === 0) return 'No process of the step runs in the job pod.';
    await stopRemote(ctx, target, pidFile, 'Stopping the step in the job pod: its exec stream was lost');
    const left = await running();
    if (left.length === 0) return 'The step was stopped in the job pod (SIGTERM, then SIGKILL).';
    return `Processes of the step still run in the job pod after SIGKILL: ${left.join(' ')}.`;
  } catch (err) {
    return `Whether the step still runs in the job pod could not be checked: ${(err as Error).message}.`;
  }
}

/** The live pids of the step's process group in the job pod (`STEP_PROCESSES`). */
async function stepProcesses(ctx: CommandContext, target: { namespace: string; pod: string; container: string }, pidFile: string): Promise<string[]> {
  const stdout = new TextSink();
  const { exitCode } = await ctx.client.exec({ ...target, command: stepProcessesCommand(pidFile), stdout, timeoutMs: PROBE_TIMEOUT_MS });
  if (exitCode !== 0) throw new Error(`the check exited with ${exitCode}`);
  return stdout.text
    .split(/\s+/)
    .filter((p) => /^\d+$/.test(p))
    .slice(0, 20);
}

/** SIGTERM the step, then SIGKILL what is left after a grace period. Never throws. */
async function stopRemote(
  ctx: CommandContext,
  target: { namespace: string; pod: string; container: string },
  pidFile: string,
  why = 'Cancelling: stopping the step in the job pod',
): Promise<void> {
  const send = (sig: 'TERM' | 'KILL') =>
    ctx.client.exec({ ...target, command: killStepCommand(pidFile, sig), timeoutMs: PROBE_TIMEOUT_MS }).catch(() => undefined);
  ctx.log.info(why);
  await send('TERM');
  await new Promise((r) => setTimeout(r, KILL_GRACE_MS));
  await send('KILL');
}
