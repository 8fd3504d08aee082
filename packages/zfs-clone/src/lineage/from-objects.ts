import type { V1ConfigMap, V1ObjectMeta, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { VolumeSnapshot } from '../kube-types.js';
import { MANAGED_BY, MANAGED_BY_LABEL, ROLE_LABEL } from '@zfs-runner-hooks/vocabulary';
import { CACHE, DETACHED, EXPIRES_AT, KEPT } from '../labels.js';
import { parseQuantity } from '../quantity.js';
import type { CacheHead, LineageGraph, SnapshotNode, VolumeNode } from './graph.js';
import { parseHead } from './head.js';
import { candidateVolumeLoss } from './volume-loss.js';

/** The namespace's objects a lineage graph is built from. */
export interface LineageObjects {
  readonly pvcs: readonly V1PersistentVolumeClaim[];
  readonly snapshots: readonly VolumeSnapshot[];
  /** ConfigMaps labelled `zrh.dev/role=head`. */
  readonly heads: readonly V1ConfigMap[];
}

function managed(meta: V1ObjectMeta | undefined): boolean {
  return meta?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY && meta.labels[ROLE_LABEL] !== undefined;
}

function time(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = new Date(value as string).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Builds the lineage graph from listed objects (pure). Includes every managed PVC and
 * VolumeSnapshot plus the unmanaged ones they touch (a seed PVC, a seed snapshot), which gc then
 * never deletes. A clone is live while a pod owns it.
 */
export function graphFromObjects(objects: LineageObjects): { graph: LineageGraph; problems: string[] } {
  const problems: string[] = [];
  const heads: CacheHead[] = [];
  const brokenHeads: { cache: string; problem: string }[] = [];
  for (const cm of objects.heads) {
    try {
      heads.push(parseHead(cm));
    } catch (error) {
      const problem = error instanceof Error ? error.message : String(error);
      problems.push(problem);
      const name = cm.metadata?.name ?? '';
      const cache = cm.metadata?.labels?.[CACHE] ?? (name.startsWith('zfs-cache-') ? name.slice('zfs-cache-'.length) : name);
      brokenHeads.push({ cache, problem });
    }
  }
  const headSnapshots = new Set(heads.flatMap((h) => [h.snapshot, ...h.history.map((e) => e.snapshot)]));
  const managedPvcOrigins = new Set(objects.pvcs.filter((p) => managed(p.metadata)).map((p) => p.spec?.dataSource?.name ?? ''));
  const pvcsByName = new Map(objects.pvcs.map((p) => [p.metadata?.name ?? '', p]));
  const snapshots: SnapshotNode[] = [];
  for (const s of objects.snapshots) {
    const name = s.metadata?.name ?? '';
    const isManaged = managed(s.metadata);
    if (!isManaged && !headSnapshots.has(name) && !managedPvcOrigins.has(name)) continue;
    const source = s.spec?.source?.persistentVolumeClaimName;
    const candidate = isManaged && s.metadata?.labels?.[ROLE_LABEL] === 'candidate';
    const lostVolume = candidate ? candidateVolumeLoss(s, source === undefined ? undefined : pvcsByName.get(source)) : undefined;
    snapshots.push({
      name,
      cache: s.metadata?.labels?.[CACHE],
      source,
      managed: isManaged,
      ready: s.status?.readyToUse === true,
      expiresAt: time(s.metadata?.annotations?.[EXPIRES_AT]),
      createdAt: time(s.metadata?.creationTimestamp) ?? 0,
      size: parseQuantity(s.status?.restoreSize),
      deleting: Boolean(s.metadata?.deletionTimestamp),
      ...(candidate && { candidate, kept: s.metadata?.labels?.[KEPT] === 'true' }),
      ...(lostVolume !== undefined && { lostVolume }),
    });
  }
  const snapshotSources = new Set(snapshots.map((s) => s.source ?? ''));
  const snapshotNames = new Set(snapshots.map((s) => s.name));
  const volumes: VolumeNode[] = [];
  for (const p of objects.pvcs) {
    const meta = p.metadata;
    const name = meta?.name ?? '';
    const isManaged = managed(meta);
    const origin = p.spec?.dataSource?.kind === 'VolumeSnapshot' ? p.spec.dataSource.name : undefined;
    if (!isManaged && !snapshotSources.has(name) && !(origin && snapshotNames.has(origin))) continue;
    volumes.push({
      name,
      cache: meta?.labels?.[CACHE],
      origin,
      managed: isManaged,
      live: (meta?.ownerReferences ?? []).some((o) => o.kind === 'Pod'),
      expiresAt: time(meta?.annotations?.[EXPIRES_AT]),
      createdAt: time(meta?.creationTimestamp) ?? 0,
      detached: meta?.annotations?.[DETACHED] === 'true',
    });
  }
  return { graph: { volumes, snapshots, heads, brokenHeads }, problems };
}
