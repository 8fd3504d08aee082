import { randomBytes } from 'node:crypto';
import { createKubeClient, describeStats, loadKubeConfig, type KubeClient } from '@zfs-runner-hooks/kube';
import type { JobCache } from './cache.js';
import { cleanupJob } from './commands/cleanup-job.js';
import type { CommandContext } from './commands/context.js';
import { prepareJob } from './commands/prepare-job.js';
import { runContainerStep } from './commands/run-container-step.js';
import { runScriptStep } from './commands/run-script-step.js';
import { loadConfig } from './config.js';
import { CancelledError, describeError, isHookError, StepFailedError } from './errors.js';
import { actionsLogger, type Logger } from './log.js';
import { parseHookInput, type HookInput } from './protocol/input.js';
import { defaultStateDir, JobStateStore } from './protocol/state-store.js';

/** Exit codes besides a failed step's own code. */
export const EXIT = { ok: 0, failure: 1, sigint: 130, sigterm: 143 } as const;

/** Reads all of stdin as UTF-8. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs one validated hook command. */
export async function dispatch(ctx: CommandContext, input: HookInput): Promise<void> {
  switch (input.command) {
    case 'prepare_job':
      return prepareJob(ctx, input.args, input.responseFile);
    case 'run_script_step':
      return runScriptStep(ctx, input.args, input.state, input.responseFile);
    case 'run_container_step':
      return runContainerStep(ctx, input.args, input.state, input.responseFile);
    case 'cleanup_job':
      return cleanupJob(ctx, input.state, input.responseFile);
  }
}

/** Maps an error to the exit code and reports it. */
export function exitCodeFor(err: unknown, log: Logger): number {
  if (err instanceof StepFailedError) {
    log.info(err.message);
    return err.exitCode;
  }
  if (err instanceof CancelledError) {
    log.error(err.message);
    return err.signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
  }
  log.error(describeError(err));
  if (!isHookError(err) && err instanceof Error && err.stack) log.debug(err.stack);
  return EXIT.failure;
}

/** Optional collaborators `run` wires in (the build cache). */
export interface RunOptions {
  readonly cache?: JobCache;
}

/**
 * The hook's one entry and exit point: reads stdin, validates it and the environment, builds the
 * Kubernetes client, runs the command, and exits with 0, the failed step's own code, 130/143 when
 * cancelled, or 1 for any other error (reported with `::error::`).
 */
export async function run(options: RunOptions = {}): Promise<void> {
  let log: Logger = actionsLogger(false);
  let client: KubeClient | undefined;
  const cancel = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (cancel.signal.aborted) process.exit(signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
    cancel.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Node exits on its own when nothing is left to wait for (a bug: a promise that never settles).
  // The command has then not finished, so that exit must not tell the runner it succeeded.
  process.exitCode = EXIT.failure;
  process.once('beforeExit', () => log.error('The hook stopped before its command finished (nothing was left to wait for); the command failed'));
  let code: number = EXIT.ok;
  try {
    const input = parseHookInput(await readStdin());
    const config = loadConfig(process.env);
    log = actionsLogger(config.debug);
    log.debug(`Hook command ${input.command}; configuration: ${JSON.stringify(config)}`);
    client = createKubeClient(await loadKubeConfig());
    const uid = process.getuid?.() ?? 0;
    const states = new JobStateStore({
      dir: config.stateDir ?? defaultStateDir(uid),
      uid,
      runnerPodName: config.runnerPodName,
      namespace: config.namespace ?? client.defaultNamespace,
      workspaceMode: config.workspaceMode,
    });
    await dispatch(
      {
        client,
        config,
        log,
        signal: cancel.signal,
        cache: options.cache,
        states,
        env: process.env,
        nodeExecPath: process.execPath,
        newSeed: () => randomBytes(8).toString('hex'),
        stdout: process.stdout,
        stderr: process.stderr,
      },
      input,
    );
    if (cancel.signal.aborted) throw new CancelledError(cancel.signal.reason as NodeJS.Signals);
    // The runner keeps this command's response (and state) only when the hook exits 0.
    await states.commit();
  } catch (err) {
    code = exitCodeFor(
      cancel.signal.aborted && !(err instanceof CancelledError) && !(err instanceof StepFailedError)
        ? new CancelledError(cancel.signal.reason as NodeJS.Signals)
        : err,
      log,
    );
  } finally {
    if (client) {
      const { stats } = client;
      log.debug(`API requests: ${stats.total} ${JSON.stringify(Object.fromEntries(stats.byKind))}`);
      const recovered = stats.recoveries?.size ? ` ${JSON.stringify(Object.fromEntries(stats.recoveries))}` : '';
      log.debug(`API recoveries: ${describeStats(stats)}${recovered}`);
    }
    client?.close();
  }
  process.exit(code);
}
