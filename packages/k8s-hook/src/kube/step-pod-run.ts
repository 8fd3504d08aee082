import { PassThrough } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { R } from '@zfs-runner-hooks/kube';
import type { CommandContext } from '../commands/context.js';
import { HookError } from '../errors.js';
import { STEP_CONTAINER } from '../pod/step-pod.js';
import { followLog } from './log-follow.js';
import { waitForPod } from './wait-pod.js';

/**
 * A step's log silent for this long is checked: a connection that died without a word is resumed
 * while the step runs, and given up once it has ended.
 */
const LOG_IDLE_MS = 60_000;

/** Whether the step container has terminated. */
function isTerminated(pod: V1Pod): boolean {
  return pod.status?.containerStatuses?.find((c) => c.name === STEP_CONTAINER)?.state?.terminated !== undefined;
}

/** Streams a step pod's output and resolves with the step container's exit code; `mark` records when it started and when its log ended. */
export async function followStepPod(
  ctx: CommandContext,
  namespace: string,
  name: string,
  resourceVersion: string | undefined,
  mark: (what: string) => void = () => undefined,
): Promise<number> {
  const base = { namespace, name, log: ctx.log, signal: ctx.signal, what: 'Step pod' };
  const started = await waitForPod(ctx.client, {
    ...base,
    goal: { kind: 'started', container: STEP_CONTAINER },
    resourceVersion,
    timeoutSeconds: ctx.config.podTimeoutSeconds,
    unschedulableGraceSeconds: ctx.config.unschedulableGraceSeconds,
  });
  mark('step started');
  const out = new PassThrough();
  out.pipe(ctx.stdout, { end: false });
  try {
    await followLog(ctx.client, {
      namespace,
      pod: name,
      container: STEP_CONTAINER,
      out,
      idleTimeoutMs: LOG_IDLE_MS,
      running: async () => !isTerminated(await ctx.client.get<V1Pod>({ type: R.pods, namespace, name })),
      log: ctx.log,
      signal: ctx.signal,
    });
  } finally {
    out.unpipe(ctx.stdout);
  }
  mark('log ended');
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
