import { PassThrough } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import type { CommandContext } from '../commands/context.js';
import { HookError } from '../errors.js';
import { STEP_CONTAINER } from '../pod/step-pod.js';
import { waitForPod } from './wait-pod.js';

/** Streams a step pod's output and resolves with the step container's exit code. */
export async function followStepPod(ctx: CommandContext, namespace: string, name: string, resourceVersion: string | undefined): Promise<number> {
  const base = { namespace, name, log: ctx.log, signal: ctx.signal, what: 'Step pod' };
  const started = await waitForPod(ctx.client, { ...base, goal: { kind: 'started', container: STEP_CONTAINER }, resourceVersion, timeoutSeconds: ctx.config.podTimeoutSeconds, unschedulableGraceSeconds: ctx.config.unschedulableGraceSeconds });
  const out = new PassThrough();
  out.pipe(ctx.stdout, { end: false });
  try {
    await ctx.client.logs({ namespace, pod: name, container: STEP_CONTAINER, follow: true, signal: ctx.signal }, out);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    ctx.log.warning(`The step's log stream ended early: ${(err as Error).message}`);
  } finally {
    out.unpipe(ctx.stdout);
  }
  // `started` may already show the container terminated (a short step): judged before watching.
  const done = await waitForPod(ctx.client, { ...base, goal: { kind: 'terminated', container: STEP_CONTAINER }, seen: started });
  return exitCodeOf(done, name);
}

/** The step container's exit code from its terminated state. */
export function exitCodeOf(pod: V1Pod, name: string): number {
  const s = pod.status?.containerStatuses?.find((c) => c.name === STEP_CONTAINER);
  const code = s?.state?.terminated?.exitCode;
  if (code === undefined) throw new HookError('POD_FAILED', `Step pod "${name}" ended without an exit code for its step container`);
  return code;
}
