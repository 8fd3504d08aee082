import type { KubeClient } from '@zfs-runner-hooks/kube';
import { check as c, podOwner } from '@zfs-runner-hooks/vocabulary';
import { resolveCloneConfigOrThrow } from '../config/resolve.js';
import { ZfsCloneError } from '../errors.js';
import { reownClone } from '../ops/create-clone.js';
import { watchCloneEvents } from '../ops/wait-for-clone.js';
import { cleanupClone, cleanupOrphans, type CleanupInput, type CleanupReport } from './cleanup.js';
import type { CacheLogger } from './logger.js';
import { prepareClone, type PreparedClone } from './prepare.js';
import { cloneStateSchema, type CloneState } from './state.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface CacheSessionOptions {
  readonly kube: KubeClient;
  /** The namespace of the runner and job pods. */
  readonly namespace: string;
  /** The runner pod: owns the clone PVC until the job pod exists. */
  readonly runnerPod: { readonly name: string; readonly uid: string };
  /** The hook's own environment: runner defaults, limits and trusted `GITHUB_*` facts. */
  readonly runnerEnv: Env;
  readonly logger: CacheLogger;
  readonly now?: () => Date;
}

/** The hook-facing API of the clone cache: one object per hook invocation. */
export interface CacheSession {
  /**
   * prepare_job, before the job pod is created: validates the settings (a `ZfsCloneError` with
   * code `CONFIG_INVALID` lists every problem, before any object exists), resolves the source,
   * creates the clone PVC and waits for it. `null` when the job asks for no clone.
   */
  prepare(containerEnv: Env): Promise<PreparedClone | null>;
  /** prepare_job, right after the job pod is created: the job pod becomes the clone's owner. Returns the new state. */
  onPodCreated(state: CloneState, jobPod: { readonly name: string; readonly uid: string }): Promise<CloneState>;
  /**
   * Rejects as soon as the clone PVC reports `ProvisioningFailed` (with the driver's message);
   * otherwise pending until `signal` aborts. Race it against the wait for the job pod.
   */
  watchProvisioning(state: CloneState, signal: AbortSignal): Promise<never>;
  /**
   * cleanup_job, before the job pod is deleted: snapshot back, promote, keep or release per
   * policy. `state` may be anything the hook stored (validated here) or `null` after a crash,
   * in which case this runner pod's leftover clones are deleted. The state only carries the job's
   * wishes: what it may do is decided again from `runnerEnv`, the namespace and the runner pod
   * given here, and the cache head. Does not throw for cache problems.
   */
  cleanup(state: unknown, input: CleanupInput): Promise<CleanupReport>;
}

/** Creates the session the hook uses for one command. Nothing happens until a method is called. */
export function createCacheSession(options: CacheSessionOptions): CacheSession {
  const { kube, namespace, logger } = options;
  const now = options.now ?? (() => new Date());
  return {
    async prepare(containerEnv) {
      const { config, warnings } = resolveCloneConfigOrThrow(options.runnerEnv, containerEnv, { namespace });
      for (const w of warnings) logger.warning(w);
      if (!config) {
        logger.debug('zfs-clone: no source configured, no clone');
        return null;
      }
      logger.debug(`zfs-clone configuration: ${JSON.stringify(config)}`);
      return logger.group('ZFS clone', () => prepareClone({ kube, namespace, runnerPod: options.runnerPod, config, logger }));
    },

    async onPodCreated(state, jobPod) {
      await reownClone(kube, state.namespace, state.pvc, podOwner(jobPod.name, jobPod.uid));
      return { ...state, jobPod: jobPod.name };
    },

    async watchProvisioning(state, signal) {
      await watchCloneEvents(kube, state.namespace, state.pvc, signal, undefined, false);
      return new Promise<never>(() => undefined);
    },

    async cleanup(raw, input) {
      if (raw === null || raw === undefined) {
        const deleted = await cleanupOrphans(kube, namespace, options.runnerPod.name);
        if (deleted.length > 0) logger.info(`Deleted leftover clone PVCs: ${deleted.join(', ')}`);
        return { released: deleted.length > 0, problems: [], timings: { totalMs: 0 } };
      }
      const parsed = c.parse(cloneStateSchema, raw);
      if (!parsed.ok) {
        throw new ZfsCloneError('CACHE_INVALID', `The clone state from prepare_job is invalid: ${c.formatIssues(parsed.issues).join('; ')}.`);
      }
      return logger.group('ZFS clone', () =>
        cleanupClone(kube, parsed.value, input, logger, { namespace, runnerPod: options.runnerPod.name, runnerEnv: options.runnerEnv, now }),
      );
    },
  };
}
