import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { R, type KubeClient } from '@zfs-runner-hooks/kube';
import { ROLE_LABEL } from '@zfs-runner-hooks/vocabulary';
import type { CacheLogger, RunInJob } from '@zfs-runner-hooks/zfs-clone';
import type { CacheCleanupInput, CachePlan, CachePlanInput, JobCache } from './cache.js';
import { HookError } from './errors.js';
import { onceMoreAfterConnectionFailure } from './kube/once-more.js';
import { TextSink } from './kube/tar.js';
import type { Logger } from './log.js';
import { JOB_CONTAINER } from './pod/containers.js';
import { hookSelector } from './pod/labels.js';

/**
 * The cache library, loaded on first use: only prepare_job and cleanup_job need it, so the hook
 * calls of every step skip evaluating it (it stays in the one bundle file).
 */
const library = () => import(/* webpackMode: "eager" */ '@zfs-runner-hooks/zfs-clone');

/** Cache settings start with this; without any, prepare_job has no clone to make. */
const SETTING_PREFIX = 'ZFS_CLONE_';
const hasSettings = (env: Readonly<Record<string, string | undefined>>) => Object.keys(env).some((k) => k.startsWith(SETTING_PREFIX));

/**
 * Runs a command of the cache library (the flush before a snapshot) in the job pod's `job`
 * container: its exit code and error output go back to the library, which decides what they mean.
 */
export function runInJobContainer(client: KubeClient, namespace: string, pod: string, signal: AbortSignal): RunInJob {
  const once = async (command: readonly string[], timeoutMs: number | undefined) => {
    // The start of its error output: enough for the flush's fallback and messages.
    const stderr = new TextSink(4096);
    const r = await client.exec({ namespace, pod, container: JOB_CONTAINER, command, stderr, signal, ...(timeoutMs ? { timeoutMs } : {}) });
    return { exitCode: r.exitCode, stderr: stderr.text };
  };
  // The library's commands (stopping the job's processes, `sync`) may run twice.
  return (command, options = {}) => onceMoreAfterConnectionFailure(() => once(command, options.timeoutMs), signal);
}

function cacheLogger(log: Logger): CacheLogger {
  return { info: log.info, warning: log.warning, debug: log.debug, group: (name, fn) => log.group(name, fn) };
}

/**
 * The job's ZFS-clone build cache (`@zfs-runner-hooks/zfs-clone`): prepare_job clones the
 * configured source into a PVC mounted in the `job` container; cleanup_job snapshots it back,
 * promotes it, keeps it or releases it as the workflow's settings and the runner's limits say.
 */
export function zfsCloneCache(): JobCache {
  return {
    async check(input) {
      if (!hasSettings(input.containerEnv) && !hasSettings(input.processEnv)) return;
      const { resolveCloneConfigOrThrow } = await library();
      resolveCloneConfigOrThrow(input.processEnv, input.containerEnv, { namespace: input.namespace });
    },

    async plan(input: CachePlanInput): Promise<CachePlan | undefined> {
      // Neither the workflow nor the runner sets anything: no clone, and no need to load the library.
      if (!hasSettings(input.containerEnv) && !hasSettings(input.processEnv)) {
        input.log.debug('zfs-clone: no ZFS_CLONE_* setting, no clone');
        return undefined;
      }
      const { createCacheSession, explainNodeConflict } = await library();
      const session = createCacheSession({
        kube: input.client,
        namespace: input.namespace,
        runnerPod: { name: input.runnerPod.name, uid: input.runnerPod.uid },
        runnerEnv: input.processEnv,
        logger: cacheLogger(input.log),
      });
      const prepared = await session.prepare(input.containerEnv);
      if (!prepared) return undefined;
      const conflict = explainNodeConflict(prepared.node, input.requiredNode);
      if (conflict) {
        await session.cleanup(prepared.state, { succeeded: false });
        throw new HookError('CACHE_NODE_CONFLICT', conflict, {
          hint: 'Give the runner a work volume any node can mount (or ZRH_WORKSPACE_MODE=copy), or run the runner on the cache node.',
        });
      }
      input.log.info(
        `Clone ${prepared.state.pvc} ready in ${prepared.timings.resolveMs + prepared.timings.createMs + prepared.timings.waitMs} ms` +
          `${prepared.node ? ` on node ${prepared.node}` : ''}`,
      );
      return {
        volumes: [prepared.volume],
        volumeMounts: [prepared.volumeMount],
        env: prepared.env,
        ...(prepared.podSecurityContext ? { podSecurityContext: prepared.podSecurityContext } : {}),
        state: { ...prepared.state },
        // The runner pod owned the clone until now; from here on the job pod owns it.
        afterPodCreated: async (pod) => ({
          ...(await session.onPodCreated(prepared.state, { name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' })),
        }),
      };
    },

    async cleanup(input: CacheCleanupInput): Promise<void> {
      if (!input.state) {
        // No job state (prepare_job failed or was killed): the library looks for this runner's
        // leftover clones; it is loaded only when there are any.
        const leftovers = await input.client.list<V1PersistentVolumeClaim>(
          { type: R.persistentVolumeClaims, namespace: input.namespace },
          { labelSelector: `${hookSelector(input.runnerPodName)},${ROLE_LABEL}=clone` },
        );
        if (leftovers.items.length === 0) return;
      }
      const { createCacheSession } = await library();
      const session = createCacheSession({
        kube: input.client,
        namespace: input.namespace,
        runnerPod: { name: input.runnerPodName, uid: '' },
        runnerEnv: input.processEnv,
        logger: cacheLogger(input.log),
      });
      const jobPod = input.jobPod;
      // The library reports every problem as a warning itself (and never throws for one).
      await session.cleanup(input.state ?? null, {
        succeeded: input.job.prepared && input.job.stepsFailed === 0,
        ...(jobPod ? { runInJob: runInJobContainer(input.client, input.namespace, jobPod, input.signal) } : {}),
      });
    },
  };
}
