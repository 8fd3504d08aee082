import { ROLE_LABEL } from '@zfs-runner-hooks/vocabulary';
import { CACHE } from '../labels.js';
import { headConfigMapName } from '../names.js';
import { dependencies, snapshotKey, volumeKey, type LineageGraph, type NodeKey, type SnapshotNode, type VolumeNode } from './graph.js';
import { describeVolumeLoss } from './volume-loss.js';

export interface GcPolicy {
  /** Generations per cache to keep, the head included (at least 1). */
  readonly keepGenerations: number;
  /** Objects younger than this are in flight (a job cloning or snapshotting) and kept. */
  readonly graceSeconds: number;
  /** Only delete objects of these caches (all when omitted); others are kept untouched. */
  readonly caches?: readonly string[];
  /** The driver supports `ZFSPromote`: suggest promoting clones whose ancestors are otherwise garbage. */
  readonly canPromote?: boolean;
}

export interface PlannedNode {
  readonly kind: 'volume' | 'snapshot';
  readonly name: string;
  readonly cache?: string | undefined;
  readonly reason: string;
}

export interface GcPlan {
  /** Deletions in a safe order: every object comes before anything it depends on. */
  readonly delete: readonly PlannedNode[];
  /** Everything kept, with the first reason found. */
  readonly keep: readonly PlannedNode[];
  /** Volumes to `zfs promote` (ZFSPromote) so their ancestors can go on a later run. */
  readonly promote: readonly PlannedNode[];
  /** Inconsistencies worth telling an operator about. */
  readonly warnings: readonly string[];
  /**
   * Caches in scope whose head has a problem (does not parse, points at a snapshot that is missing,
   * not ready or being deleted, or is missing while objects of the cache exist). When any is
   * listed, the plan deletes and promotes nothing: a head gc cannot trust decides nothing.
   */
  readonly refused: readonly { readonly cache: string; readonly problem: string }[];
}

type AnyNode = ({ kind: 'volume' } & VolumeNode) | ({ kind: 'snapshot' } & SnapshotNode);

/**
 * A candidate that has lost its volume (`SnapshotNode.lostVolume`) and is neither kept nor a kept
 * generation is deleted once it is this old, whatever its lease says, unless the policy's grace is
 * longer. Its cleanup_job hands the volume over right after creating it (one request): a younger
 * one may still be in that step.
 */
export const HANDOVER_GRACE_SECONDS = 120;

/**
 * Plans garbage collection over a lineage graph, honouring ZFS rules: a snapshot with clones is
 * not destroyed; a volume is not destroyed while any of its snapshots is kept; a chain of clones
 * stays while its newest member is kept (unless promoted). Kept: the last `keepGenerations` of
 * each cache head, live clones, unexpired kept objects, objects in their grace period, unmanaged
 * objects and everything those depend on. A candidate that has lost its volume (its data is gone
 * under ZFS) is not kept for its lease: it goes once older than the grace, and at least
 * {@link HANDOVER_GRACE_SECONDS}, unless it is kept on purpose or something depends on it.
 * Pure: no I/O, inputs untouched.
 */
export function planGc(graph: LineageGraph, policy: GcPolicy, now: number): GcPlan {
  const nodes = new Map<NodeKey, AnyNode>();
  for (const v of graph.volumes) nodes.set(volumeKey(v.name), { kind: 'volume', ...v });
  for (const s of graph.snapshots) nodes.set(snapshotKey(s.name), { kind: 'snapshot', ...s });
  const deps = dependencies(graph);
  const warnings: string[] = [];
  const graceMs = policy.graceSeconds * 1000;
  const inScope = (n: AnyNode) => policy.caches === undefined || (n.cache !== undefined && policy.caches.includes(n.cache));

  const refused = headProblems(graph, policy);
  if (refused.length > 0) {
    const why = `gc refused: ${refused.map((r) => `cache "${r.cache}": ${r.problem}`).join('; ')}`;
    return { delete: [], keep: [...nodes.values()].map((n) => planned(n, why)), promote: [], warnings, refused };
  }

  // Roots: reasons to keep an object for its own sake.
  const roots = new Map<NodeKey, string>();
  const generationOf = new Map<string, number>();
  for (const head of graph.heads) {
    const kept = new Set<string>([head.snapshot]);
    for (const entry of head.history) {
      if (kept.size >= Math.max(1, policy.keepGenerations)) break;
      kept.add(entry.snapshot);
    }
    for (const entry of head.history) if (!generationOf.has(entry.snapshot)) generationOf.set(entry.snapshot, entry.generation);
    for (const name of kept) {
      const key = snapshotKey(name);
      if (!nodes.has(key)) {
        warnings.push(`cache "${head.cache}": kept generation snapshot "${name}" does not exist`);
        continue;
      }
      const g = generationOf.get(name);
      roots.set(key, name === head.snapshot ? `head of cache ${head.cache}` : `generation ${g ?? '?'} of cache ${head.cache}`);
      const snap = nodes.get(key);
      if (snap?.kind === 'snapshot' && snap.source && !nodes.has(volumeKey(snap.source))) {
        warnings.push(`cache "${head.cache}": snapshot "${name}" has lost its volume "${snap.source}"; its data may be gone`);
      }
    }
  }
  for (const [key, n] of nodes) {
    if (roots.has(key)) continue;
    const why = rootReason(n, now, graceMs, inScope(n));
    if (why) roots.set(key, why);
    if (why && n.kind === 'snapshot' && n.kept && n.lostVolume !== undefined) {
      warnings.push(`snapshot "${n.name}" is kept (${why}) but ${lostVolumeText(n)}; it can never be restored`);
    }
  }

  // Keep closure over dependencies.
  const keep = closure(roots, deps);
  const rootsWithoutCloneEdges = closure(roots, withoutCloneEdges(deps, graph));

  const keepList: PlannedNode[] = [];
  const deleteKeys: NodeKey[] = [];
  for (const [key, n] of nodes) {
    const reason = keep.get(key);
    if (reason !== undefined) keepList.push(planned(n, reason));
    else deleteKeys.push(key);
  }

  const promote: PlannedNode[] = [];
  if (policy.canPromote) {
    for (const v of graph.volumes) {
      const key = volumeKey(v.name);
      if (!v.managed || v.detached || !v.origin || !rootsWithoutCloneEdges.has(key)) continue;
      const originKey = snapshotKey(v.origin);
      if (keep.has(originKey) && !rootsWithoutCloneEdges.has(originKey)) {
        promote.push({ kind: 'volume', name: v.name, cache: v.cache, reason: `only it keeps snapshot ${v.origin} and its ancestors alive` });
      }
    }
  }

  const ordered = orderForDeletion(deleteKeys, deps);
  if (ordered.length < deleteKeys.length) {
    const placed = new Set(ordered);
    for (const key of deleteKeys) {
      if (placed.has(key)) continue;
      keepList.push(planned(nodes.get(key) as AnyNode, 'part of a dependency cycle'));
      warnings.push(`${key} is part of a dependency cycle and was left alone`);
    }
  }

  return {
    delete: ordered.map((key) => {
      const n = nodes.get(key) as AnyNode;
      return planned(n, deleteReason(n, now, generationOf));
    }),
    keep: keepList,
    promote,
    warnings,
    refused: [],
  };
}

/**
 * The caches in scope whose head gc cannot trust: a head ConfigMap that does not parse, a head
 * snapshot that is missing, not ready or being deleted, and managed objects of a cache without
 * a head (a head deleted by mistake, or not listed, would otherwise make its whole lineage garbage).
 */
function headProblems(graph: LineageGraph, policy: GcPolicy): { cache: string; problem: string }[] {
  const inScope = (cache: string) => policy.caches === undefined || policy.caches.includes(cache);
  const out: { cache: string; problem: string }[] = [];
  for (const broken of graph.brokenHeads ?? []) if (inScope(broken.cache)) out.push(broken);
  const snapshots = new Map(graph.snapshots.map((s) => [s.name, s]));
  const withHead = new Set([...graph.heads.map((h) => h.cache), ...(graph.brokenHeads ?? []).map((b) => b.cache)]);
  for (const head of graph.heads) {
    if (!inScope(head.cache)) continue;
    const snap = snapshots.get(head.snapshot);
    if (!snap)
      out.push({ cache: head.cache, problem: `its head (generation ${head.generation}) points at VolumeSnapshot "${head.snapshot}", which does not exist` });
    else if (snap.deleting) out.push({ cache: head.cache, problem: `its head snapshot "${head.snapshot}" is being deleted` });
    else if (!snap.ready) out.push({ cache: head.cache, problem: `its head snapshot "${head.snapshot}" is not ready` });
  }
  const headless = new Set<string>();
  for (const n of [...graph.volumes, ...graph.snapshots]) {
    if (n.managed && n.cache !== undefined && !withHead.has(n.cache) && inScope(n.cache)) headless.add(n.cache);
  }
  for (const cache of policy.caches ?? []) if (!withHead.has(cache)) headless.add(cache);
  for (const cache of headless) {
    out.push({
      cache,
      problem:
        `it has no head ConfigMap "${headConfigMapName(cache)}" (labelled ${ROLE_LABEL}=head)` +
        ` — seed the cache again, or if it was deleted on purpose delete its objects with kubectl delete volumesnapshots,pvc -l ${CACHE}=${cache}`,
    });
  }
  return out;
}

function rootReason(n: AnyNode, now: number, graceMs: number, inScope: boolean): string | undefined {
  if (!n.managed) return 'not managed by zfs-runner-hooks';
  if (!inScope) return 'outside the caches being collected';
  if (n.kind === 'volume' && n.live) return 'in use by a job';
  if (n.kind === 'snapshot' && n.lostVolume !== undefined && !n.kept) {
    // Its lease is for a cleanup_job still deciding; this one can never be restored. It stays only
    // while that cleanup_job may still be between taking it and handing the volume over.
    const leased = n.expiresAt === undefined || n.expiresAt > now;
    const young = n.createdAt > now - Math.max(graceMs, HANDOVER_GRACE_SECONDS * 1000);
    return leased && young ? 'recently created (its volume may still be handed over)' : undefined;
  }
  if (n.expiresAt !== undefined && n.expiresAt > now) return `kept until ${new Date(n.expiresAt).toISOString()}`;
  if (n.expiresAt === undefined && n.createdAt > now - graceMs) return 'recently created (in flight)';
  return undefined;
}

function deleteReason(n: AnyNode, now: number, generationOf: ReadonlyMap<string, number>): string {
  if (n.expiresAt !== undefined && n.expiresAt <= now) return `expired at ${new Date(n.expiresAt).toISOString()}`;
  if (n.kind === 'snapshot' && n.lostVolume !== undefined && !generationOf.has(n.name)) return `${lostVolumeText(n)}; it can never be restored`;
  if (n.kind === 'snapshot') {
    const g = generationOf.get(n.name);
    if (g !== undefined) return `generation ${g} is older than the generations kept`;
    if (!n.ready) return 'never became ready';
    return 'snapshot not promoted and nothing depends on it';
  }
  return n.origin ? 'clone no longer used and nothing depends on it' : 'volume no longer used and nothing depends on it';
}

/** `it has lost its volume: PVC "c" is gone`, for a candidate that lost it. */
function lostVolumeText(n: SnapshotNode): string {
  return `it has lost its volume: ${describeVolumeLoss(n.source ?? '?', n.lostVolume ?? 'gone')}`;
}

function planned(n: AnyNode, reason: string): PlannedNode {
  return { kind: n.kind, name: n.name, cache: n.cache, reason };
}

function closure(roots: ReadonlyMap<NodeKey, string>, deps: ReadonlyMap<NodeKey, readonly NodeKey[]>): Map<NodeKey, string> {
  const keep = new Map(roots);
  const stack = [...roots.keys()];
  while (stack.length > 0) {
    const key = stack.pop() as NodeKey;
    for (const dep of deps.get(key) ?? []) {
      if (keep.has(dep)) continue;
      keep.set(dep, `needed by ${key}`);
      stack.push(dep);
    }
  }
  return keep;
}

function withoutCloneEdges(deps: ReadonlyMap<NodeKey, readonly NodeKey[]>, graph: LineageGraph): Map<NodeKey, NodeKey[]> {
  const out = new Map<NodeKey, NodeKey[]>();
  for (const [key, list] of deps) out.set(key, [...list]);
  for (const v of graph.volumes) out.set(volumeKey(v.name), []);
  return out;
}

/** Orders `keys` so that each comes before its dependencies (dependents first). */
function orderForDeletion(keys: readonly NodeKey[], deps: ReadonlyMap<NodeKey, readonly NodeKey[]>): NodeKey[] {
  const set = new Set(keys);
  const dependents = new Map<NodeKey, number>();
  for (const key of keys) dependents.set(key, 0);
  for (const key of keys) {
    for (const dep of deps.get(key) ?? []) if (set.has(dep)) dependents.set(dep, (dependents.get(dep) ?? 0) + 1);
  }
  const ready = keys.filter((k) => dependents.get(k) === 0);
  const out: NodeKey[] = [];
  for (let i = 0; i < ready.length; i++) {
    const key = ready[i] as NodeKey;
    out.push(key);
    for (const dep of deps.get(key) ?? []) {
      if (!set.has(dep)) continue;
      const left = (dependents.get(dep) ?? 0) - 1;
      dependents.set(dep, left);
      if (left === 0) ready.push(dep);
    }
  }
  return out;
}
