import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { R, type ResourceType } from '@zfs-runner-hooks/kube';
import { describeError } from '../errors.js';
import { hookSelector } from '../pod/labels.js';
import { writeResponse } from '../protocol/response.js';
import type { JobState } from '../protocol/state.js';
import { jobNamespace, type CommandContext } from './context.js';

/** Seconds a deleted pod gets to stop (its `tail -f /dev/null` ignores SIGTERM as PID 1). */
const POD_GRACE_SECONDS = 1;

/**
 * The state the runner passed back when it is this job's genuine latest state; otherwise a
 * warning and undefined, so nothing the state names is acted on.
 */
async function verifiedState(ctx: CommandContext, rawState: unknown, responseFile: string): Promise<JobState | undefined> {
  if (rawState === null || rawState === undefined) return undefined;
  try {
    return await ctx.states.open(rawState, responseFile);
  } catch (err) {
    ctx.log.warning(
      `${describeError(err)} Cleaning up by label only: the pods and secrets labelled runner-pod=${ctx.config.runnerPodName} in namespace ${jobNamespace(ctx)}; ` +
        'no object the state names is touched, and the build cache treats the job as failed.',
    );
    return undefined;
  }
}

/**
 * cleanup_job: hands the cache its state, then deletes every pod and secret this runner's jobs
 * created (by label and by the names in state). Idempotent; works with `state: null` after a
 * failed prepare_job. A state that fails verification (forged, replayed, foreign) is not used:
 * cleanup then goes by this runner pod's label only. Problems are reported as warnings; they do
 * not fail the job. Afterwards no state of this job is valid.
 */
export async function cleanupJob(ctx: CommandContext, rawState: unknown, responseFile: string): Promise<void> {
  const state = await verifiedState(ctx, rawState, responseFile);
  const namespace = state?.namespace ?? jobNamespace(ctx);
  const runnerPodName = state?.runnerPod.name ?? ctx.config.runnerPodName;

  // A recorded state without a clone means the job had none; without a state (prepare_job failed
  // or was killed) the cache looks for this runner pod's leftover clones.
  if (ctx.cache && (!state || state.clone)) {
    try {
      // The runner keeps no state from a failed or cancelled step: the step log beside the runner says.
      const unsuccessful = state ? await ctx.states.unsuccessfulSteps() : 0;
      await ctx.log.group('Build cache', () =>
        ctx.cache!.cleanup({
          client: ctx.client,
          namespace,
          runnerPodName,
          jobPod: state?.hasJobContainer ? state.jobPod : undefined,
          processEnv: ctx.env,
          state: state?.clone,
          job: { prepared: state?.jobPod !== undefined, stepsRun: state?.steps.run ?? 0, stepsFailed: Math.max(state?.steps.failed ?? 0, unsuccessful) },
          log: ctx.log,
          signal: ctx.signal,
        }),
      );
    } catch (err) {
      ctx.log.warning(`Build cache cleanup failed: ${describeError(err)}`);
    }
  }

  const selector = hookSelector(runnerPodName);
  const remove = async (type: ResourceType, known: readonly string[], query?: Record<string, number>) => {
    const names = new Set(known);
    try {
      const list = await ctx.client.list<V1Pod | V1Secret>({ type, namespace }, { labelSelector: selector });
      for (const o of list.items) if (o.metadata?.name) names.add(o.metadata.name);
    } catch (err) {
      ctx.log.warning(`Could not list ${type.plural} labelled ${selector}: ${describeError(err)}`);
    }
    const results = await Promise.allSettled([...names].map((name) => ctx.client.delete({ type, namespace, name }, query)));
    results.forEach((r, i) => {
      if (r.status === 'rejected') ctx.log.warning(`Could not delete ${type.plural} "${[...names][i]}": ${describeError(r.reason)}`);
    });
    return [...names];
  };
  const [pods, secrets] = await Promise.all([
    remove(R.pods, state?.jobPod ? [state.jobPod] : [], { gracePeriodSeconds: POD_GRACE_SECONDS }),
    remove(R.secrets, state?.secrets ?? []),
  ]);
  ctx.log.info(`Cleaned up ${pods.length} pod(s) and ${secrets.length} secret(s) of runner ${runnerPodName}`);
  await ctx.states.endJob().catch((err: unknown) => ctx.log.warning(`Could not remove the job's state key: ${describeError(err)}`));
  // Nothing follows cleanup_job: an unsafe response file is reported, the cleanup stands.
  await writeResponse(responseFile, {}).catch((err: unknown) => ctx.log.warning(describeError(err)));
}
