import type { V1Pod } from '@kubernetes/client-node';
import { R, type KubeClient } from '@zfs-runner-hooks/kube';
import { errorCode, HookError } from '../errors.js';
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
    lastPod = pod;
    rv = pod.metadata?.resourceVersion ?? rv;
    const outcome = assessPod(pod, o.goal);
    if (outcome.kind === 'done') return (done = true);
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

  const refresh = async () => {
    const pod = await client.find<V1Pod>({ type: R.pods, namespace: o.namespace, name: o.name });
    if (!pod) return fail('was deleted while waiting for it');
    return judge(pod);
  };

  if (o.seen && judge(o.seen)) return finish();
  if (rv === undefined && (await refresh())) return finish();
  for (;;) {
    if (o.signal?.aborted) throw new HookError('CANCELLED', `Stopped waiting for ${o.what.toLowerCase()} "${o.name}"`);
    const now = Date.now();
    const wakeAt = Math.min(deadline, unschedulableSince === undefined ? Infinity : unschedulableSince + grace);
    if (now >= deadline) return fail(`did not reach the expected state within ${o.timeoutSeconds} s (last state: ${lastProgress || 'unknown'})`, 'POD_TIMEOUT');
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = Number.isFinite(wakeAt) ? setTimeout(() => stop.abort(), Math.max(0, wakeAt - now)) : undefined;
    try {
      const ended = await client.watch<V1Pod>(
        { type: R.pods, namespace: o.namespace },
        (ev) => (ev.type === 'DELETED' ? ((failure = 'was deleted while waiting for it'), true) : judge(ev.object)),
        { fieldSelector: `metadata.name=${o.name}`, resourceVersion: rv, signal: stop.signal, timeoutSeconds: 300 },
      );
      if (ended !== undefined) return finish();
      // The watch ended (server timeout, or our timer): re-read the pod so nothing is missed.
      if (await refresh()) return finish();
    } catch (err) {
      if (errorCode(err) !== 'GONE') throw err;
      rv = undefined;
      if (await refresh()) return finish();
    } finally {
      if (timer) clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    }
  }

  async function finish(): Promise<V1Pod> {
    if (failure !== undefined) return fail(failure);
    if (!done || !lastPod) return fail('ended in an unknown state');
    o.log.debug(`${o.what} ${o.name} reached "${o.goal.kind}" after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return lastPod;
  }
}
