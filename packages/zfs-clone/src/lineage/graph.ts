import type { VolumeLoss } from './volume-loss.js';

/**
 * The lineage graph: the volumes (PVCs) and snapshots (VolumeSnapshots) of a namespace that
 * caches are made of, with the ZFS dependencies between them. Times are milliseconds since the
 * epoch. Built from cluster objects by `readLineage`; planned over by `planGc`.
 */

/** A PVC: a ZFS dataset (a clone when it has an origin snapshot). */
export interface VolumeNode {
  readonly name: string;
  readonly cache?: string | undefined;
  /** The VolumeSnapshot this volume was cloned from (its `dataSource`). */
  readonly origin?: string | undefined;
  /** Created by this project, so gc may delete it. Unmanaged objects are never deleted. */
  readonly managed: boolean;
  /** In use by a running job (owned by an existing pod). */
  readonly live: boolean;
  /** Kept for inspection until this time. */
  readonly expiresAt?: number | undefined;
  readonly createdAt: number;
  /** Made independent of its origin (`zfs promote` done): it no longer keeps the origin alive. */
  readonly detached?: boolean | undefined;
}

/** A VolumeSnapshot: a ZFS snapshot inside its source volume's dataset. */
export interface SnapshotNode {
  readonly name: string;
  readonly cache?: string | undefined;
  /** The PVC the snapshot was taken of. */
  readonly source?: string | undefined;
  readonly managed: boolean;
  readonly ready: boolean;
  /** Kept (e.g. an unpromoted snapshot) until this time. */
  readonly expiresAt?: number | undefined;
  readonly createdAt: number;
  /** Bytes, from `status.restoreSize`, for display. */
  readonly size?: number | undefined;
  /** Being deleted (`deletionTimestamp` set). */
  readonly deleting?: boolean | undefined;
  /** A job's snapshot taken back, not (yet) a generation (`zrh.dev/role=candidate`). */
  readonly candidate?: boolean | undefined;
  /** Kept unpromoted on purpose (`zrh.dev/kept=true`). */
  readonly kept?: boolean | undefined;
  /**
   * A candidate whose source PVC does not live as long as it does (see `candidateVolumeLoss`):
   * under ZFS its data is gone or goes with the PVC, so it can never be restored.
   */
  readonly lostVolume?: VolumeLoss | undefined;
}

/** One entry of a cache head's history, newest first. */
export interface HeadEntry {
  readonly generation: number;
  readonly snapshot: string;
  /** RFC 3339. */
  readonly at: string;
  readonly reason: 'seed' | 'promote' | 'rollback';
  /** Who moved the head (repository, ref, runner), for people. */
  readonly by?: string | undefined;
}

/** A cache's head: the snapshot new clones start from. */
export interface CacheHead {
  readonly cache: string;
  readonly snapshot: string;
  readonly generation: number;
  /** Newest first; `history[0]` is the current head. */
  readonly history: readonly HeadEntry[];
  /** Repository globs whose jobs may promote this cache (annotation `zrh.dev/repositories`); unset: none recorded. */
  readonly repositories?: readonly string[] | undefined;
}

export interface LineageGraph {
  readonly volumes: readonly VolumeNode[];
  readonly snapshots: readonly SnapshotNode[];
  readonly heads: readonly CacheHead[];
  /** Caches whose head ConfigMap cannot be read, with the problem: gc leaves them alone. */
  readonly brokenHeads?: readonly { readonly cache: string; readonly problem: string }[] | undefined;
}

/** A node address: `volume/<name>` or `snapshot/<name>`. */
export type NodeKey = `volume/${string}` | `snapshot/${string}`;

export const volumeKey = (name: string): NodeKey => `volume/${name}`;
export const snapshotKey = (name: string): NodeKey => `snapshot/${name}`;

/**
 * What each node needs to exist, under ZFS rules: a snapshot lives inside its source volume
 * (destroying the volume destroys it), and a clone needs its origin snapshot (which cannot be
 * destroyed while the clone exists) unless the clone was promoted.
 */
export function dependencies(graph: LineageGraph): Map<NodeKey, NodeKey[]> {
  const volumes = new Set(graph.volumes.map((v) => v.name));
  const snapshots = new Set(graph.snapshots.map((s) => s.name));
  const deps = new Map<NodeKey, NodeKey[]>();
  for (const v of graph.volumes) {
    deps.set(volumeKey(v.name), v.origin && !v.detached && snapshots.has(v.origin) ? [snapshotKey(v.origin)] : []);
  }
  for (const s of graph.snapshots) {
    deps.set(snapshotKey(s.name), s.source && volumes.has(s.source) ? [volumeKey(s.source)] : []);
  }
  return deps;
}
