import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { isAlreadyExists, isConflict, R, type KubeClient } from '@zfs-runner-hooks/kube';
import { ZfsCloneError } from '../errors.js';
import type { VolumeSnapshot, ZfsPromote } from '../kube-types.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '@zfs-runner-hooks/vocabulary';
import { DETACHED, HEAD_CLAIMED_AT } from '../labels.js';
import { planGc, type GcPlan, type GcPolicy } from '../lineage/plan-gc.js';
import { ZFS_PROMOTES } from './capabilities.js';
import { readLineage } from './read-lineage.js';

export interface GcOptions {
  readonly namespace: string;
  readonly policy: GcPolicy;
  /** Plan only; change nothing. */
  readonly dryRun?: boolean;
  /** Namespace of the zfs-localpv driver, where ZFSPromote objects go. @default openebs */
  readonly driverNamespace?: string;
  readonly now?: number;
  readonly onProgress?: (line: string) => void;
}

export interface GcResult {
  readonly plan: GcPlan;
  /** Objects deleted (or that would be, on a dry run). */
  readonly deleted: readonly string[];
  /** Deletions that failed, with the error message. */
  readonly failed: readonly { readonly object: string; readonly error: string }[];
  /**
   * Planned deletions left alone because the snapshot changed after gc read it (a rollback or a
   * promotion claimed it for a head meanwhile), with what it depends on.
   */
  readonly left: readonly string[];
  readonly problems: readonly string[];
}

/**
 * Plans gc over the namespace's lineage (see `planGc`) and applies it: deletes in dependency
 * order (a failed deletion stops deleting what it depends on), and, when the driver supports it,
 * requests `ZFSPromote` for volumes that alone keep old generations alive, marking them detached
 * once the driver reports Done.
 */
export async function gc(kube: KubeClient, options: GcOptions): Promise<GcResult> {
  const { namespace } = options;
  const { graph, problems, objects } = await readLineage(kube, namespace);
  const plan = planGc(graph, options.policy, options.now ?? Date.now());
  if (plan.refused.length > 0) {
    const each = plan.refused.map((r) => `cache "${r.cache}": ${r.problem}`).join('; ');
    throw new ZfsCloneError('CACHE_INVALID', `gc refused to run in namespace "${namespace}", nothing was deleted: ${each}.`, {
      hint:
        options.policy.caches === undefined
          ? 'Repair the head (`zfs-clone status`, `zfs-clone rollback`), or collect a healthy cache alone with `zfs-clone gc <cache>`.'
          : 'Repair the head (`zfs-clone status`, `zfs-clone rollback`) and run gc again.',
    });
  }
  if (options.dryRun) return { plan, deleted: plan.delete.map((d) => `${d.kind}/${d.name}`), failed: [], left: [], problems };

  const deleted: string[] = [];
  const failed: { object: string; error: string }[] = [];
  const left: string[] = [];
  /** Objects an undeleted one depends on, and whether that one was left (true) or failed. */
  const blocked = new Map<string, boolean>();
  const dependsOn = new Map<string, string | undefined>();
  for (const v of graph.volumes) dependsOn.set(`volume/${v.name}`, v.origin ? `snapshot/${v.origin}` : undefined);
  for (const s of graph.snapshots) dependsOn.set(`snapshot/${s.name}`, s.source ? `volume/${s.source}` : undefined);
  // The snapshots as read: each is deleted only in that version, or in a later one that no
  // promotion or rollback claimed for a head meanwhile (see claimForHead).
  const versions = new Map(
    objects.snapshots.map((s) => [
      s.metadata?.name ?? '',
      { uid: s.metadata?.uid, resourceVersion: s.metadata?.resourceVersion, claimed: s.metadata?.annotations?.[HEAD_CLAIMED_AT] },
    ]),
  );
  for (const item of plan.delete) {
    const key = `${item.kind}/${item.name}`;
    if (blocked.has(key)) {
      if (blocked.get(key) === true) left.push(key);
      continue;
    }
    try {
      const type = item.kind === 'volume' ? R.persistentVolumeClaims : R.volumeSnapshots;
      const read = item.kind === 'snapshot' ? versions.get(item.name) : undefined;
      if (read) await deleteUnclaimedSnapshot(kube, namespace, item.name, read);
      else await kube.delete({ type, namespace, name: item.name });
      deleted.push(key);
      options.onProgress?.(`deleted ${key} (${item.reason})`);
    } catch (error) {
      const changed = item.kind === 'snapshot' && isConflict(error);
      if (changed) {
        // Changed since gc read it: a rollback or promotion may have made it a head. Not an error.
        left.push(key);
        options.onProgress?.(`left ${key}: it changed after gc read it (a head may have moved to it); the next gc decides again`);
      } else {
        failed.push({ object: key, error: error instanceof Error ? error.message : String(error) });
      }
      // Keep what the undeleted object still depends on.
      for (let dep = dependsOn.get(key); dep; dep = dependsOn.get(dep)) if (!blocked.has(dep)) blocked.set(dep, changed);
    }
  }

  if (options.policy.canPromote) {
    for (const item of plan.promote) {
      const pvc = objects.pvcs.find((p) => p.metadata?.name === item.name);
      await requestPromote(kube, namespace, pvc, options.driverNamespace ?? 'openebs', options.onProgress).catch((error: unknown) =>
        failed.push({ object: `volume/${item.name}`, error: `ZFSPromote: ${error instanceof Error ? error.message : String(error)}` }),
      );
    }
  }
  return { plan, deleted, failed, left, problems };
}

async function requestPromote(
  kube: KubeClient,
  namespace: string,
  pvc: V1PersistentVolumeClaim | undefined,
  driverNamespace: string,
  onProgress?: (line: string) => void,
): Promise<void> {
  const volumeName = pvc?.spec?.volumeName;
  if (!pvc?.metadata?.name || !volumeName) return;
  const name = `zrh-${volumeName}`.slice(0, 63).replace(/-+$/, '');
  const ref = { type: ZFS_PROMOTES, namespace: driverNamespace };
  const existing = await kube.find<ZfsPromote>({ ...ref, name });
  if (existing?.status?.state === 'Done') {
    await kube.patch({ type: R.persistentVolumeClaims, namespace, name: pvc.metadata.name }, { metadata: { annotations: { [DETACHED]: 'true' } } }, 'merge');
    onProgress?.(`volume/${pvc.metadata.name} promoted (ZFSPromote ${name} done); its ancestors go on the next gc`);
    return;
  }
  if (existing) return;
  const body: ZfsPromote = {
    apiVersion: 'zfs.openebs.io/v1',
    kind: 'ZFSPromote',
    metadata: { name, namespace: driverNamespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    spec: { volumeName },
  };
  try {
    await kube.create(ref, body);
    onProgress?.(`requested ZFSPromote ${name} for volume/${pvc.metadata.name}`);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

/** How often gc deletes a snapshot again after it changed in a way that is no head's claim (status updates). */
const UNCLAIMED_CHANGES = 3;

/**
 * Deletes a snapshot in the version gc read, or in a later version whose head claim is still
 * the one gc read: a VolumeSnapshot also changes when its controller updates its status, which
 * says nothing about a head. Throws the 409 Conflict when a promotion or rollback claimed it
 * since (the caller leaves it), or when it keeps changing.
 */
async function deleteUnclaimedSnapshot(
  kube: KubeClient,
  namespace: string,
  name: string,
  read: { readonly uid: string | undefined; readonly resourceVersion: string | undefined; readonly claimed: string | undefined },
): Promise<void> {
  let version = read;
  for (let attempt = 1; ; attempt++) {
    const preconditions =
      version.uid !== undefined && version.resourceVersion !== undefined ? { uid: version.uid, resourceVersion: version.resourceVersion } : undefined;
    try {
      await kube.delete(
        { type: R.volumeSnapshots, namespace, name },
        undefined,
        preconditions ? { apiVersion: 'v1', kind: 'DeleteOptions', preconditions } : undefined,
      );
      return;
    } catch (error) {
      if (!isConflict(error) || attempt >= UNCLAIMED_CHANGES) throw error;
      const now = await kube.find<VolumeSnapshot>({ type: R.volumeSnapshots, namespace, name });
      if (!now) return;
      const claimed = now.metadata?.annotations?.[HEAD_CLAIMED_AT];
      if (claimed !== read.claimed || now.metadata?.uid !== read.uid) throw error;
      version = { uid: now.metadata?.uid, resourceVersion: now.metadata?.resourceVersion, claimed };
    }
  }
}
