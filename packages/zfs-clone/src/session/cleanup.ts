import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { R, type KubeClient } from '@zfs-runner-hooks/kube';
import { formatDuration, MANAGED_SELECTOR, ROLE_LABEL, RUNNER_POD_LABEL } from '@zfs-runner-hooks/vocabulary';
import { KEPT } from '../labels.js';
import { recordCacheEvent, type EventObject } from '../ops/events.js';
import { gc } from '../ops/gc.js';
import { promote, readHead } from '../ops/promote.js';
import { countKeptClones, countKeptSnapshots, keepClone, keepSnapshot, releaseClone } from '../ops/release.js';
import { flushClone, stopJobProcesses, type RunInJob } from '../ops/flush.js';
import { snapshotBack } from '../ops/snapshot-back.js';
import { MIN_KEEP_SECONDS } from '../config/resolve.js';
import { headConfigMapName } from '../names.js';
import { admitPromotion, cloneMismatch, decideCleanup } from './cleanup-policy.js';
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

/** Where cleanup runs, from the hook's own environment (never from the state). */
export interface CleanupContext {
  /** The runner's namespace. */
  readonly namespace: string;
  /** The runner pod's name. */
  readonly runnerPod: string;
  /** The hook's process environment: runner settings and the job's `GITHUB_*` facts. */
  readonly runnerEnv: Readonly<Record<string, string | undefined>>;
  readonly now: () => Date;
}

/**
 * Ends a job's clone: snapshot back and promote per policy, keep a failed clone for inspection,
 * or release it. The state says what the job asked for; what it may do is decided again from the
 * hook's environment and the cache head (`decideCleanup`), and the state must describe this
 * runner's own clone (`cloneMismatch`). Never throws for a cache problem: problems are logged as
 * warnings and reported, and anything left behind carries an expiry for gc.
 */
export async function cleanupClone(
  kube: KubeClient,
  state: CloneState,
  input: CleanupInput,
  logger: CacheLogger,
  context: CleanupContext,
): Promise<CleanupReport> {
  const started = Date.now();
  const { namespace, runnerPod, now } = context;
  const { pvc } = state;
  const problems: string[] = [];
  const finish = (report: Omit<CleanupReport, 'problems' | 'timings'>, timings: Omit<CleanupReport['timings'], 'totalMs'> = {}): CleanupReport => {
    for (const p of problems) logger.warning(p);
    return { ...report, problems, timings: { ...timings, totalMs: Date.now() - started } };
  };

  const claim = await kube.find<V1PersistentVolumeClaim>({ type: R.persistentVolumeClaims, namespace, name: pvc });
  const mismatch = claim ? cloneMismatch(claim, state, namespace, runnerPod) : undefined;
  if (!claim || mismatch) {
    if (mismatch)
      problems.push(
        `The clone state does not describe this runner's clone (${mismatch}); nothing is snapshotted, promoted or kept, only this runner pod's own clones are released.`,
      );
    else logger.debug(`clone PVC ${pvc} no longer exists`);
    const deleted = await cleanupOrphans(kube, namespace, runnerPod).catch((error: unknown) => {
      problems.push(`releasing this runner pod's clones failed: ${message(error)}`);
      return [];
    });
    if (deleted.length > 0) logger.info(`Deleted this runner pod's clone PVCs: ${deleted.join(', ')}`);
    return finish({ released: deleted.length > 0 });
  }

  let recorded: readonly string[] | undefined;
  let headProblem: string | undefined;
  // The head's repositories only decide a promotion or a snapshot back: a job that asks for
  // neither costs no read of it.
  const asks = state.policy.promote || state.policy.snapshotBack !== 'never';
  if (state.cache && asks) {
    try {
      recorded = (await readHead(kube, namespace, state.cache.name)).head.repositories;
    } catch (error) {
      headProblem = message(error);
    }
  }
  const decision = decideCleanup(state, context.runnerEnv, runnerPod, recorded);
  if (!decision.ok) {
    problems.push(...decision.problems);
    await releaseClone(kube, namespace, pvc).catch((error: unknown) => problems.push(`releasing clone ${pvc} failed: ${message(error)}`));
    return finish({ released: true });
  }
  for (const w of decision.warnings) logger.warning(w);
  let policy = decision.policy;
  if (headProblem !== undefined && (policy.promote || policy.snapshotBack !== 'never')) {
    problems.push(`no snapshot is taken: the head of cache ${state.cache?.name ?? '?'} cannot be read: ${headProblem}`);
    policy = { ...policy, promote: false, snapshotBack: 'never' };
  }

  let wantSnapshot = policy.snapshotBack === 'always' || (policy.snapshotBack === 'on-success' && input.succeeded);
  let snapshot: string | undefined;
  let snapshotMs: number | undefined;
  let promoteMs: number | undefined;
  let flushMs: number | undefined;
  let promotion: CleanupReport['promotion'];
  let kept: CleanupReport['kept'];
  let released = false;
  const cacheName = state.cache?.name;
  const group = cacheName === undefined ? 'snapshot sources' : `cache ${cacheName}`;
  /** Records what happened as a Kubernetes Event on `object` (best effort). */
  const note = (object: EventObject, reason: string, message: string, type?: 'Warning') =>
    recordCacheEvent(kube, namespace, { object, reason, message, cache: cacheName, ...(type && { type }) }, logger, { now, instance: runnerPod });
  const origin = state.cache ? `generation ${state.cache.generation} of cache ${state.cache.name}` : `VolumeSnapshot ${state.snapshot}`;
  /** Events recorded while cleanup goes on (the promotion does not wait for them); awaited at the end. */
  const recording: Promise<void>[] = [];

  if (wantSnapshot && !policy.promote) {
    // A snapshot that is not promoted is kept: the runner caps how many pile up.
    try {
      const count = await countKeptSnapshots(kube, namespace, cacheName);
      if (count >= policy.maxKeptSnapshots) {
        problems.push(
          `not taking a snapshot: ${count} unpromoted snapshots of ${group} are kept already (ZFS_CLONE_MAX_KEPT_SNAPSHOTS=${policy.maxKeptSnapshots})`,
        );
        wantSnapshot = false;
      }
    } catch (error) {
      problems.push(`not taking a snapshot: counting the kept snapshots failed: ${message(error)}`);
      wantSnapshot = false;
    }
  }

  if (wantSnapshot && input.runInJob) {
    // The job's processes stop and the clone is flushed first: a snapshot of a clone still being
    // written, or not written back, would become the cache. Without that, no snapshot at all.
    const flushStarted = Date.now();
    const runInJob = input.runInJob;
    // The binaries are the job's: each command gets the runner's ZFS_CLONE_TIMEOUT_SECONDS.
    const run: RunInJob = (command) => runInJob(command, { timeoutMs: policy.timeoutSeconds * 1000 });
    try {
      const others = await stopJobProcesses(run);
      if (others) logger.debug(`job container: ${others}`);
      const flushed = await flushClone(run, state.mountPath);
      if (flushed.fellBack) logger.debug(`\`sync\` in the job container has no -f: flushed every file system instead of ${state.mountPath ?? 'the clone'}`);
    } catch (error) {
      problems.push(`no snapshot is taken${policy.promote ? ' and nothing is promoted' : ''}: ${message(error)}`);
      wantSnapshot = false;
    }
    flushMs = Date.now() - flushStarted;
  }

  if (wantSnapshot) {
    try {
      // Until the outcome is decided the snapshot is in flight: gc leaves it alone until this lease ends.
      const lease = new Date(now().getTime() + (policy.timeoutSeconds + MIN_KEEP_SECONDS) * 1000);
      const taken = await snapshotBack(kube, {
        namespace,
        pvc,
        snapshotClass: policy.snapshotClass,
        cache: cacheName,
        parentSnapshot: state.snapshot,
        parentGeneration: state.cache?.generation,
        runnerPod,
        expiresAt: lease,
        timeoutSeconds: policy.timeoutSeconds,
        onProgress: (s) => logger.debug(`snapshot of ${pvc}: ${s}`),
      });
      snapshot = taken.snapshot;
      snapshotMs = taken.readyMs;
      logger.info(`Snapshot ${snapshot} of the clone is ready (${taken.readyMs} ms)`);
      const snapshotObject: EventObject = { kind: 'VolumeSnapshot', name: snapshot, uid: taken.uid };
      recording.push(note(snapshotObject, 'SnapshotTaken', `Snapshot of clone PVC ${pvc} (cloned from ${origin}) is ready after ${taken.readyMs} ms`));
      /** Keeps the snapshot for the keep time, counted from now (the outcome is decided). */
      const keep = async (name: string) => {
        const until = new Date(now().getTime() + policy.keepTtlSeconds * 1000);
        await keepSnapshot(kube, namespace, name, until);
        return { object: `snapshot/${name}`, until: until.toISOString() };
      };
      const drop = async (name: string) => {
        await kube.delete({ type: R.volumeSnapshots, namespace, name });
        await releaseClone(kube, namespace, pvc);
        released = true;
      };
      if (policy.promote && state.cache) {
        const t = Date.now();
        const result = await promote(kube, {
          namespace,
          cache: state.cache.name,
          snapshot,
          expected: { generation: state.cache.generation, snapshot: state.snapshot },
          by: policy.by,
          now,
          made: { uid: taken.uid, pvc },
          admit: admitPromotion(policy, state.cache.name),
        });
        promoteMs = Date.now() - t;
        if (result.outcome === 'promoted') {
          promotion = { outcome: 'promoted', generation: result.head.generation };
          logger.info(`Cache ${state.cache.name} now at generation ${result.head.generation} (${snapshot})`);
          await note(
            { kind: 'ConfigMap', name: headConfigMapName(state.cache.name) },
            'Promoted',
            `Cache ${state.cache.name} promoted to generation ${result.head.generation}: VolumeSnapshot ${snapshot}, taken from clone PVC ${pvc} of generation ${state.cache.generation}${policy.by ? `, by ${policy.by}` : ''}`,
          );
        } else if (result.outcome === 'refused') {
          problems.push(`not promoted: ${result.reason}; snapshot ${snapshot} dropped`);
          await note(snapshotObject, 'PromotionRefused', `Not promoted into cache ${state.cache.name}: ${result.reason}; snapshot dropped`, 'Warning');
          await drop(snapshot);
        } else {
          promotion = { outcome: 'lost', generation: result.head.generation };
          const full = policy.onConflict === 'keep' ? await countKeptSnapshots(kube, namespace, cacheName, snapshot) : 0;
          if (policy.onConflict === 'drop' || full >= policy.maxKeptSnapshots) {
            if (policy.onConflict === 'keep')
              problems.push(
                `not keeping snapshot ${snapshot}: ${full} unpromoted snapshots of ${group} are kept already (ZFS_CLONE_MAX_KEPT_SNAPSHOTS=${policy.maxKeptSnapshots})`,
              );
            logger.info(
              `Cache ${state.cache.name} moved to generation ${result.head.generation} since this job cloned generation ${state.cache.generation}; snapshot ${snapshot} dropped`,
            );
            await note(
              snapshotObject,
              'LostRace',
              `Not promoted: cache ${state.cache.name} moved to generation ${result.head.generation} since this job cloned generation ${state.cache.generation}; snapshot dropped`,
            );
            await drop(snapshot);
          } else {
            kept = await keep(snapshot);
            logger.info(`Cache ${state.cache.name} moved on meanwhile; snapshot ${snapshot} kept until ${kept.until}`);
            await note(
              snapshotObject,
              'LostRace',
              `Not promoted: cache ${state.cache.name} moved to generation ${result.head.generation} since this job cloned generation ${state.cache.generation}; snapshot kept until ${kept.until}`,
            );
          }
        }
      } else {
        kept = await keep(snapshot);
        logger.info(
          `Snapshot ${snapshot} kept until ${kept.until}${state.cache ? `; promote it with: zfs-clone promote ${state.cache.name} ${snapshot}` : ''}`,
        );
        await note(
          snapshotObject,
          'Kept',
          `Not promoted, kept until ${kept.until}${state.cache ? `; promote it with: zfs-clone promote ${state.cache.name} ${snapshot}` : ''}`,
        );
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
        await note(
          { kind: 'PersistentVolumeClaim', name: pvc, uid: claim.metadata?.uid },
          'Kept',
          `Failed job's clone kept for inspection until ${kept.until}`,
        );
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
      const result = await gc(kube, {
        namespace,
        now: now().getTime(),
        policy: { keepGenerations: policy.keepGenerations, graceSeconds: MIN_KEEP_SECONDS, caches: [state.cache.name] },
      });
      if (result.deleted.length > 0) {
        logger.info(`gc of cache ${state.cache.name}: deleted ${result.deleted.join(', ')}`);
        await note(
          { kind: 'ConfigMap', name: headConfigMapName(state.cache.name) },
          'GarbageCollected',
          `gc deleted ${result.deleted.length} object(s) of cache ${state.cache.name}: ${result.deleted.join(', ')}`,
        );
      }
      for (const f of result.failed) problems.push(`gc: ${f.object}: ${f.error}`);
    } catch (error) {
      problems.push(`gc failed: ${message(error)}`);
    }
  }
  await Promise.all(recording);
  const report = finish({ snapshot, promotion, kept, released }, { snapshotMs, promoteMs });
  logger.debug(
    `zfs-clone cleanup: ${report.timings.totalMs} ms in all (flush ${flushMs ?? '-'} ms, snapshot create→ready ${snapshotMs ?? '-'} ms, promotion ${promoteMs ?? '-'} ms)`,
  );
  return report;
}

/**
 * Cleanup without state (the hook crashed before writing it): deletes this runner pod's clone PVCs
 * that are neither kept nor owned by a snapshot.
 */
export async function cleanupOrphans(kube: KubeClient, namespace: string, runnerPod: string): Promise<string[]> {
  const list = await kube.list<V1PersistentVolumeClaim>(
    { type: R.persistentVolumeClaims, namespace },
    { labelSelector: `${MANAGED_SELECTOR},${ROLE_LABEL}=clone,${RUNNER_POD_LABEL}=${runnerPod}` },
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
