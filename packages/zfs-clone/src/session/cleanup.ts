import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { R, type KubeClient } from '@zfs-runner-hooks/kube';
import { formatDuration } from '../config/duration.js';
import { KEPT, MANAGED_SELECTOR, ROLE, RUNNER_POD } from '../labels.js';
import { gc } from '../ops/gc.js';
import { promote } from '../ops/promote.js';
import { countKeptClones, keepClone, releaseClone } from '../ops/release.js';
import { flushClone, type RunInJob } from '../ops/flush.js';
import { snapshotBack } from '../ops/snapshot-back.js';
import type { CacheLogger } from './logger.js';
import type { CloneState } from './state.js';

export interface CleanupInput {
  /** Whether every step the hook ran succeeded. */
  readonly succeeded: boolean;
  /**
   * Runs a command in the job container (the hook's exec) and reports its exit code and error
   * output; used before a snapshot to flush the clone (`sync -f <mount path>`, see `flushClone`).
   * Omit when the job pod is gone.
   */
  readonly runInJob?: RunInJob;
}

/** What cleanup did, for logs and benchmarks. */
export interface CleanupReport {
  readonly snapshot?: string;
  /** `promoted` (with the new generation), `lost` (another job promoted first), or `not-requested`. */
  readonly promotion?: { readonly outcome: 'promoted' | 'lost'; readonly generation: number } | undefined;
  readonly kept?: { readonly object: string; readonly until: string } | undefined;
  readonly released: boolean;
  /** Problems that did not stop the cleanup. */
  readonly problems: readonly string[];
  /** ms: snapshot create → ready, promotion CAS, total. */
  readonly timings: { readonly snapshotMs?: number; readonly promoteMs?: number; readonly totalMs: number };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Ends a job's clone: snapshot back and promote per policy, keep a failed clone for inspection,
 * or release it. Never throws for a cache problem: problems are logged as warnings and reported,
 * and anything left behind carries an expiry for gc.
 */
export async function cleanupClone(kube: KubeClient, state: CloneState, input: CleanupInput, logger: CacheLogger, now: () => Date): Promise<CleanupReport> {
  const started = Date.now();
  const { policy, namespace, pvc } = state;
  const problems: string[] = [];
  const wantSnapshot = policy.snapshotBack === 'always' || (policy.snapshotBack === 'on-success' && input.succeeded);
  let snapshot: string | undefined;
  let snapshotMs: number | undefined;
  let promoteMs: number | undefined;
  let flushMs: number | undefined;
  let promotion: CleanupReport['promotion'];
  let kept: CleanupReport['kept'];
  let released = false;

  if (wantSnapshot) {
    try {
      const flushStarted = Date.now();
      if (input.runInJob) {
        await flushClone(input.runInJob, state.mountPath).then(
          (flushed) => {
            if (flushed.fellBack) logger.debug(`\`sync\` in the job container has no -f: flushed every file system instead of ${state.mountPath ?? 'the clone'}`);
          },
          (error: unknown) => problems.push(`flush failed: ${message(error)}`),
        );
      }
      flushMs = Date.now() - flushStarted;
      const until = new Date(now().getTime() + policy.keepTtlSeconds * 1000);
      const taken = await snapshotBack(kube, {
        namespace,
        pvc,
        snapshotClass: policy.snapshotClass,
        cache: state.cache?.name,
        parentSnapshot: state.snapshot,
        parentGeneration: state.cache?.generation,
        runnerPod: state.runnerPod,
        expiresAt: until,
        timeoutSeconds: policy.timeoutSeconds,
        onProgress: (s) => logger.debug(`snapshot of ${pvc}: ${s}`),
      });
      snapshot = taken.snapshot;
      snapshotMs = taken.readyMs;
      logger.info(`Snapshot ${snapshot} of the clone is ready (${taken.readyMs} ms)`);
      if (policy.promote && state.cache) {
        const t = Date.now();
        const result = await promote(kube, {
          namespace,
          cache: state.cache.name,
          snapshot,
          expected: { generation: state.cache.generation, snapshot: state.snapshot },
          by: policy.by,
          now,
          knownReady: true,
        });
        promoteMs = Date.now() - t;
        promotion = { outcome: result.outcome, generation: result.head.generation };
        if (result.outcome === 'promoted') {
          logger.info(`Cache ${state.cache.name} now at generation ${result.head.generation} (${snapshot})`);
        } else if (policy.onConflict === 'drop') {
          logger.info(`Cache ${state.cache.name} moved to generation ${result.head.generation} since this job cloned generation ${state.cache.generation}; snapshot ${snapshot} dropped`);
          await kube.delete({ type: R.volumeSnapshots, namespace, name: snapshot });
          await releaseClone(kube, namespace, pvc);
          released = true;
        } else {
          kept = { object: `snapshot/${snapshot}`, until: until.toISOString() };
          logger.info(`Cache ${state.cache.name} moved on meanwhile; snapshot ${snapshot} kept until ${kept.until}`);
        }
      } else {
        kept = { object: `snapshot/${snapshot}`, until: until.toISOString() };
        logger.info(`Snapshot ${snapshot} kept until ${kept.until}${state.cache ? `; promote it with: zfs-clone promote ${state.cache.name} ${snapshot}` : ''}`);
      }
    } catch (error) {
      problems.push(`snapshot back failed: ${message(error)}`);
    }
  } else if (!input.succeeded && policy.keepOnFailureSeconds > 0) {
    try {
      const count = await countKeptClones(kube, namespace);
      if (count >= policy.maxKeptClones) {
        problems.push(`not keeping the failed clone: ${count} clones are kept already (ZFS_CLONE_MAX_KEPT_CLONES=${policy.maxKeptClones})`);
      } else {
        const until = new Date(now().getTime() + policy.keepOnFailureSeconds * 1000);
        await keepClone(kube, namespace, pvc, until);
        kept = { object: `volume/${pvc}`, until: until.toISOString() };
        logger.info(`Failed job's clone ${pvc} kept for ${formatDuration(policy.keepOnFailureSeconds)} (until ${kept.until})`);
      }
    } catch (error) {
      problems.push(`keeping the failed clone failed: ${message(error)}`);
    }
  }

  if (!released && !snapshot && !kept) {
    try {
      await releaseClone(kube, namespace, pvc);
      released = true;
    } catch (error) {
      problems.push(`releasing clone ${pvc} failed: ${message(error)}`);
    }
  }

  if (policy.gcOnCleanup && state.cache && (promotion?.outcome === 'promoted' || kept)) {
    try {
      const result = await gc(kube, { namespace, now: now().getTime(), policy: { keepGenerations: policy.keepGenerations, graceSeconds: 600, caches: [state.cache.name] } });
      if (result.deleted.length > 0) logger.info(`gc of cache ${state.cache.name}: deleted ${result.deleted.join(', ')}`);
      for (const f of result.failed) problems.push(`gc: ${f.object}: ${f.error}`);
    } catch (error) {
      problems.push(`gc failed: ${message(error)}`);
    }
  }
  for (const p of problems) logger.warning(p);
  const totalMs = Date.now() - started;
  logger.debug(`zfs-clone cleanup: ${totalMs} ms in all (flush ${flushMs ?? '-'} ms, snapshot create→ready ${snapshotMs ?? '-'} ms, promotion ${promoteMs ?? '-'} ms)`);
  return { snapshot, promotion, kept, released, problems, timings: { snapshotMs, promoteMs, totalMs } };
}

/**
 * Cleanup without state (the hook crashed before writing it): deletes this runner pod's clone PVCs
 * that are neither kept nor owned by a snapshot.
 */
export async function cleanupOrphans(kube: KubeClient, namespace: string, runnerPod: string): Promise<string[]> {
  const list = await kube.list<V1PersistentVolumeClaim>(
    { type: R.persistentVolumeClaims, namespace },
    { labelSelector: `${MANAGED_SELECTOR},${ROLE}=clone,${RUNNER_POD}=${runnerPod}` },
  );
  const deleted: string[] = [];
  for (const pvc of list.items) {
    const name = pvc.metadata?.name;
    if (!name || pvc.metadata?.labels?.[KEPT] === 'true') continue;
    if ((pvc.metadata?.ownerReferences ?? []).some((o) => o.kind === 'VolumeSnapshot')) continue;
    if (await releaseClone(kube, namespace, name)) deleted.push(name);
  }
  return deleted;
}
