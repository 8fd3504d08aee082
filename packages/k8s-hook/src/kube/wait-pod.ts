import type { V1Pod } from '@kubernetes/client-node';
import { R, watchUntil, type KubeClient } from '@zfs-runner-hooks/kube';
import { HookError } from '../errors.js';
import type { Logger } from '../log.js';
import { podWarnings } from './events.js';
import { assessPod, type PodGoal } from './pod-status.js';

/** Inputs of `waitForPod`. */
export interface WaitForPodOptions {
  readonly namespace: string;
  readonly name: string;
  readonly goal: PodGoal;
  /** Start watching from this version (the created object's), so no change is missed. */
  readonly resourceVersion?: string | undefined;
  /**
   * The pod as last seen (e.g. by an earlier wait): judged first, and watched from its version
   * unless `resourceVersion` is given. A watch from a version only delivers later changes, so a
   * goal this pod already meets would otherwise wait for the pod's next change.
   */
  readonly seen?: V1Pod | undefined;
  /** Undefined: no deadline (e.g. a container step's run). */
  readonly timeoutSeconds?: number | undefined;
  /** How long an Unschedulable pod may wait; 0 fails at once. */
  readonly unschedulableGraceSeconds?: number;
  readonly log: Logger;
  readonly signal?: AbortSignal | undefined;
  /** Label for messages, e.g. `Job pod`. */
  readonly what: string;
  /** Called with each version of the pod seen, before it is judged. */
  readonly onPod?: ((pod: V1Pod) => void) | undefined;
}

/**
 * Watches one pod (no polling) until `goal` is reached, logging progress as it changes. Fails fast
 * with the reason and the pod's Warning events on image pull errors, config errors, an
 * unschedulable pod (after the grace period), a container that exited, or deletion; fails with
 * `POD_TIMEOUT` after `timeoutSeconds`. Resolves with the last seen pod.
 */
export async function waitForPod(client: KubeClient, o: WaitForPodOptions): Promise<V1Pod> {
  const started = Date.now();
  const deadline = o.timeoutSeconds === undefined ? Infinity : started + o.timeoutSeconds * 1000;
  const grace = (o.unschedulableGraceSeconds ?? 0) * 1000;
  let rv = o.resourceVersion ?? o.seen?.metadata?.resourceVersion;
  let lastPod: V1Pod | undefined;
  let lastProgress = '';
  let unschedulableSince: number | undefined;
  let failure: string | undefined;
  let done = false;

  const fail = async (reason: string, code: 'POD_FAILED' | 'POD_TIMEOUT' = 'POD_FAILED'): Promise<never> => {
    const events = await podWarnings(client, o.namespace, o.name);
    const detail = events.length ? `\nWarning events:\n  ${events.join('\n  ')}` : '';
    throw new HookError(code, `${o.what} "${o.name}" in namespace "${o.namespace}" ${reason}${detail}`, {
      hint:
        code === 'POD_TIMEOUT'
          ? 'Raise ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS or check why the pod is slow to start.'
          : 'Check the image name, registry credentials, resource requests and the hook template.',
    });
  };

  const judge = (pod: V1Pod): boolean => {
    o.onPod?.(pod);
    lastPod = pod;
    rv = pod.metadata?.resourceVersion ?? rv;
    const outcome = assessPod(pod, o.goal);
    if (outcome.kind === 'done') {
      done = true;
      return true;
    }
    if (outcome.kind === 'failed') {
      failure = outcome.reason;
      return true;
    }
    if (outcome.progress !== lastProgress) {
      lastProgress = outcome.progress;
      o.log.info(`${o.what} ${o.name}: ${outcome.progress}`);
    }
    if (outcome.unschedulable !== undefined) {
      unschedulableSince ??= Date.now();
      if (Date.now() - unschedulableSince >= grace) {
        failure = `cannot be scheduled: ${outcome.unschedulable}`;
        return true;
      }
    } else unschedulableSince = undefined;
    return false;
  };

  const outcome = (): true | undefined => (failure !== undefined || done ? true : undefined);
  if (o.seen && judge(o.seen)) return finish();
  const gone = 'was deleted while waiting for it';
  try {
    // A stream that ends, breaks or stays silent is watched again from the last version seen
    // (`watchUntil`); only the pod's state, the deadline or the caller end the wait.
    await watchUntil<V1Pod, true>(
      client,
      { type: R.pods, namespace: o.namespace, name: o.name },
      {
        onEvent: ({ type, object }) => {
          if (type === 'DELETED') failure = gone;
          else judge(object);
          return outcome();
        },
        onListed: (pods) => {
          if (pods.length === 0) failure = gone;
          return outcome();
        },
        ...(rv !== undefined ? { from: { resourceVersion: rv } } : {}),
        // The end of an Unschedulable pod's grace period is no event of its own.
        wakeAt: () => (unschedulableSince === undefined ? undefined : unschedulableSince + grace),
        onWake: () => (lastPod ? (judge(lastPod), outcome()) : undefined),
        ...(Number.isFinite(deadline) ? { timeoutMs: Math.max(0, deadline - Date.now()) } : {}),
        onDeadline: () => new HookError('POD_TIMEOUT', 'deadline'),
        signal: o.signal,
        onAbort: () => new HookError('CANCELLED', `Stopped waiting for ${o.what.toLowerCase()} "${o.name}"`),
      },
    );
  } catch (err) {
    if (err instanceof HookError && err.code === 'POD_TIMEOUT') {
      return fail(`did not reach the expected state within ${o.timeoutSeconds} s (last state: ${lastProgress || 'unknown'})`, 'POD_TIMEOUT');
    }
    throw err;
  }
  return finish();

  async function finish(): Promise<V1Pod> {
    if (failure !== undefined) return fail(failure);
    if (!done || !lastPod) return fail('ended in an unknown state');
    o.log.debug(`${o.what} ${o.name} reached "${o.goal.kind}" after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return lastPod;
  }
}
