import { randomBytes } from 'node:crypto';
import type { V1EnvVar, V1PersistentVolume, V1PersistentVolumeClaim, V1PodSecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { isForbidden, R, type KubeClient } from '@zfs-runner-hooks/kube';
import { podOwner } from '@zfs-runner-hooks/vocabulary';
import type { CloneConfig } from '../config/resolve.js';
import { decideRights } from '../config/rights.js';
import { dnsName } from '../names.js';
import { checkClassExists } from '../ops/classes.js';
import { createClone } from '../ops/create-clone.js';
import { recordCacheEvent } from '../ops/events.js';
import { releaseClone } from '../ops/release.js';
import { resolveSource } from '../ops/resolve-source.js';
import { waitForClone } from '../ops/wait-for-clone.js';
import type { CacheLogger } from './logger.js';
import type { CloneState } from './state.js';

/** Name of the clone volume in the job pod. */
export const CLONE_VOLUME_NAME = 'zfs-clone';

/** What the hook adds to the job pod, and what it keeps for cleanup. */
export interface PreparedClone {
  /** Add to `spec.volumes`. */
  readonly volume: V1Volume;
  /** Add to the `job` container's `volumeMounts`. */
  readonly volumeMount: V1VolumeMount;
  /** Add to the `job` container's `env`. */
  readonly env: readonly V1EnvVar[];
  /** Merge into the pod's `securityContext` (set when the runner configures `ZFS_CLONE_FS_GROUP`). */
  readonly podSecurityContext?: V1PodSecurityContext | undefined;
  /**
   * The node the clone's volume is pinned to (PV node affinity), when it is bound and readable.
   * The pod must run there: never set `nodeName`; if the workspace forces another node, fail.
   */
  readonly node?: string | undefined;
  /** Keep in the hook's state; pass to `onPodCreated` and `cleanup`. */
  readonly state: CloneState;
  /** Time spent, ms: resolving the source, creating the PVC, waiting for it. */
  readonly timings: { readonly resolveMs: number; readonly createMs: number; readonly waitMs: number };
}

export interface PrepareInput {
  readonly kube: KubeClient;
  readonly namespace: string;
  readonly runnerPod: { readonly name: string; readonly uid: string };
  readonly config: CloneConfig;
  readonly logger: CacheLogger;
  /** Makes the clone's name unique per job. @default 4 random bytes */
  readonly nonce?: string;
}

/** Resolves the source, creates the clone PVC (owned by the runner pod) and waits for it. */
export async function prepareClone(input: PrepareInput): Promise<PreparedClone> {
  const { kube, namespace, config, logger, runnerPod } = input;
  const t0 = Date.now();
  const resolved = await resolveSource(kube, namespace, config.source);
  const rights = decideRights(
    { promote: config.promote, snapshotBack: config.snapshotBack, snapshotBackSet: config.snapshotBackSet },
    config.job,
    config.limits,
    config.source,
    resolved.repositories,
  );
  for (const w of rights.warnings) logger.warning(w);
  const storageClass = config.storageClass ?? resolved.storageClass;
  const snapshotClass = config.snapshotClass ?? resolved.snapshotClass;
  if (config.storageClass !== undefined) await checkClassExists(kube, 'StorageClass', config.storageClass);
  if (config.snapshotClass !== undefined && rights.snapshotBack !== 'never') await checkClassExists(kube, 'VolumeSnapshotClass', config.snapshotClass);
  const from = resolved.cache ? `cache ${resolved.cache.name} generation ${resolved.cache.generation} (${resolved.snapshot})` : `snapshot ${resolved.snapshot}`;
  logger.info(`Cloning ${from}, ${resolved.restoreSize}${storageClass ? `, StorageClass ${storageClass}` : ''}`);

  const t1 = Date.now();
  // Unique per job: a runner pod that runs another job must not meet its previous clone, which
  // may still be terminating (a PVC name is only free once its deletion has finished).
  const pvc = dnsName(`${runnerPod.name}-zfs`, runnerPod.name, resolved.snapshot, input.nonce ?? randomBytes(4).toString('hex'));
  const created = await createClone(kube, {
    name: pvc,
    namespace,
    snapshot: resolved.snapshot,
    restoreSize: resolved.restoreSize,
    storageClass,
    runnerPod: runnerPod.name,
    cache: resolved.cache?.name,
    parentGeneration: resolved.cache?.generation,
    owner: podOwner(runnerPod.name, runnerPod.uid),
  });
  const t2 = Date.now();
  // Recorded while the clone binds: no wait added.
  const recorded = recordCacheEvent(
    kube,
    namespace,
    {
      object: { kind: 'PersistentVolumeClaim', name: pvc, uid: created.metadata?.uid },
      reason: 'CloneCreated',
      message: `Cloned from ${from} for runner pod ${runnerPod.name}`,
      cache: resolved.cache?.name,
    },
    logger,
    { now: () => new Date(), instance: runnerPod.name },
  );
  let node: string | undefined;
  try {
    const readiness = await waitForClone(kube, {
      namespace,
      pvc,
      timeoutSeconds: config.timeoutSeconds,
      onProgress: (s) => logger.debug(`clone PVC ${pvc}: ${s}`),
    });
    if (readiness === 'bound') node = await cloneNode(kube, namespace, pvc);
  } catch (error) {
    await releaseClone(kube, namespace, pvc).catch(() => undefined);
    throw error;
  }
  await recorded;
  const t3 = Date.now();
  logger.info(`Clone PVC ${pvc} is ready${node ? ` on node ${node}` : ''}; mounted at ${config.mountPath}, ${config.envVar}=${config.mountPath}`);

  const state: CloneState = {
    version: 1,
    namespace,
    runnerPod: runnerPod.name,
    pvc,
    mountPath: config.mountPath,
    source: config.source,
    snapshot: resolved.snapshot,
    restoreSize: resolved.restoreSize,
    ...(resolved.cache && { cache: resolved.cache }),
    policy: {
      snapshotBack: rights.snapshotBack,
      promote: rights.promote,
      ...(snapshotClass !== undefined && { snapshotClass }),
      keepOnFailureSeconds: config.keepOnFailureSeconds,
      onConflict: config.onConflict,
    },
  };
  return {
    volume: { name: CLONE_VOLUME_NAME, persistentVolumeClaim: { claimName: pvc } },
    volumeMount: { name: CLONE_VOLUME_NAME, mountPath: config.mountPath },
    env: [{ name: config.envVar, value: config.mountPath }],
    podSecurityContext: config.fsGroup === undefined ? undefined : { fsGroup: config.fsGroup, fsGroupChangePolicy: 'OnRootMismatch' },
    node,
    state,
    timings: { resolveMs: t1 - t0, createMs: t2 - t1, waitMs: t3 - t2 },
  };
}

/** The node a bound clone's PV is pinned to, if the PV can be read (it is cluster-scoped). */
async function cloneNode(kube: KubeClient, namespace: string, pvc: string): Promise<string | undefined> {
  try {
    const claim = await kube.get<V1PersistentVolumeClaim>({ type: R.persistentVolumeClaims, namespace, name: pvc });
    const pvName = claim.spec?.volumeName;
    if (!pvName) return undefined;
    const pv = await kube.find<V1PersistentVolume>({ type: R.persistentVolumes, name: pvName });
    const terms = pv?.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
    for (const term of terms) {
      for (const expr of term.matchExpressions ?? []) {
        if (expr.operator === 'In' && expr.values?.length === 1) return expr.values[0];
      }
    }
    return undefined;
  } catch (error) {
    if (isForbidden(error)) return undefined;
    throw error;
  }
}

/**
 * The explanation for a job whose workspace forces it onto `requiredNode` while its clone lives on
 * `cloneNode`, or `undefined` when they agree.
 */
export function explainNodeConflict(cloneNode: string | undefined, requiredNode: string | undefined): string | undefined {
  if (!cloneNode || !requiredNode || cloneNode === requiredNode) return undefined;
  return (
    `The ZFS clone lives on node "${cloneNode}" (a zfs-localpv clone always lands on its snapshot's node), ` +
    `but the workspace volume forces the job pod onto node "${requiredNode}". Run the runner on "${cloneNode}", ` +
    "use the copy workspace mode (ZRH_WORKSPACE_MODE=copy), or keep the cache on the runner's node."
  );
}
