import type { V1Pod } from '@kubernetes/client-node';
import { R, type ResourceType } from '@zfs-runner-hooks/kube';
import { describeError } from '../errors.js';
import { hookSelector } from '../pod/labels.js';
import { isObjectNameOf } from '../pod/names.js';
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
    ctx.log.warning(`${describeError(err)} ${labelOnly(ctx)} No object the state names is touched, and the build cache treats the job as failed.`);
    return undefined;
  }
}

/**
 * What cleanup does without a usable state. The hook may not read Secrets (its Role grants
 * create and delete only, as a list would return every Secret's data), so it deletes only those
 * its private journal names; anything else is owned by the runner pod and goes with it.
 */
function labelOnly(ctx: CommandContext): string {
  const runner = ctx.config.runnerPodName;
  return (
    `Cleaning up by label only: the pods labelled runner-pod=${runner} in namespace ${jobNamespace(ctx)}. ` +
    `Secrets are deleted by the names in the hook's own journal only (the hook may not read Secrets); any other Secret of the job is owned by runner pod ${runner}, ` +
    `so Kubernetes' garbage collector deletes it with the pod, and ARC deletes the Secrets labelled runner-pod=${runner} when it removes the runner.`
  );
}

/**
 * cleanup_job: hands the cache its state, then deletes the pods this runner's jobs created (by
 * label and by the name in state) and the secrets the state and the hook's private journal name
 * (never listed: the hook may not read Secrets). Idempotent; works with `state: null` after a
 * failed or killed prepare_job. A state that fails verification (forged, replayed, foreign) is not
 * used: cleanup then goes by this runner pod's label and its journal only. Problems are reported as
 * warnings; they do not fail the job. Afterwards no state of this job is valid.
 */
export async function cleanupJob(ctx: CommandContext, rawState: unknown, responseFile: string): Promise<void> {
  const state = await verifiedState(ctx, rawState, responseFile);
  if (rawState === null || rawState === undefined) ctx.log.info(`No job state (prepare_job failed or did not finish). ${labelOnly(ctx)}`);
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
  /** Deletes `names`; resolves with how many were deleted and how many could not be (each one a warning). */
  const remove = async (type: ResourceType, names: readonly string[], query?: Record<string, number>): Promise<{ deleted: number; left: number }> => {
    const results = await Promise.allSettled(names.map((name) => ctx.client.delete({ type, namespace, name }, query)));
    results.forEach((r, i) => {
      if (r.status === 'rejected') ctx.log.warning(`Could not delete ${type.plural} "${names[i]}": ${describeError(r.reason)}`);
    });
    return { deleted: results.filter((r) => r.status === 'fulfilled' && r.value).length, left: results.filter((r) => r.status === 'rejected').length };
  };
  const pods = new Set(state?.jobPod ? [state.jobPod] : []);
  try {
    const list = await ctx.client.list<V1Pod>({ type: R.pods, namespace }, { labelSelector: selector });
    for (const p of list.items) if (p.metadata?.name) pods.add(p.metadata.name);
  } catch (err) {
    ctx.log.warning(`Could not list pods labelled ${selector}: ${describeError(err)}`);
  }
  // Secrets only by name (a list would return every Secret's data): those in the state and those
  // the hook's own journal says a command created and did not delete, also when it was killed.
  const secrets = new Set(state?.secrets ?? []);
  try {
    for (const name of await ctx.states.outstandingSecrets(responseFile)) {
      if (isObjectNameOf(runnerPodName, ['reg', 'env'], name)) secrets.add(name);
      else ctx.log.warning(`The hook's journal names Secret "${name}", which is not a name the hook gives this runner's Secrets; it is not deleted`);
    }
  } catch (err) {
    ctx.log.warning(`Could not read the hook's journal of Secrets: ${describeError(err)}`);
  }
  const [podsDone, secretsDone] = await Promise.all([remove(R.pods, [...pods], { gracePeriodSeconds: POD_GRACE_SECONDS }), remove(R.secrets, [...secrets])]);
  const left =
    podsDone.left + secretsDone.left > 0
      ? `; not deleted (see the warnings): ${podsDone.left} pod(s), ${secretsDone.left} secret(s), owned by runner pod ${runnerPodName}, which takes them with it`
      : '';
  ctx.log.info(`Cleaned up ${podsDone.deleted} pod(s) and ${secretsDone.deleted} secret(s) of runner ${runnerPodName}${left}`);
  await ctx.states.endJob().catch((err: unknown) => ctx.log.warning(`Could not remove the job's state key: ${describeError(err)}`));
  // Nothing follows cleanup_job: an unsafe response file is reported, the cleanup stands.
  await writeResponse(responseFile, {}).catch((err: unknown) => ctx.log.warning(describeError(err)));
}
