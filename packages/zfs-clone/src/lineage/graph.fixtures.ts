import type { CacheHead, LineageGraph, SnapshotNode, VolumeNode } from './graph.js';

/** Test fixtures: small builders for lineage graphs (times in ms; `T0` is long past any grace). */
export const T0 = Date.parse('2025-01-01T00:00:00Z');
export const NOW = T0 + 30 * 86_400_000;

export function vol(name: string, fields: Partial<VolumeNode> = {}): VolumeNode {
  return { name, managed: true, live: false, createdAt: T0, cache: 'c', ...fields };
}

export function snap(name: string, source: string, fields: Partial<SnapshotNode> = {}): SnapshotNode {
  return { name, source, managed: true, ready: true, createdAt: T0, cache: 'c', ...fields };
}

/** A head whose history lists `snapshots` newest first, generations counting down from the first. */
export function head(cache: string, snapshots: readonly string[], generation = snapshots.length): CacheHead {
  return {
    cache,
    snapshot: snapshots[0] ?? '',
    generation,
    history: snapshots.map((snapshot, i) => ({ generation: generation - i, snapshot, at: new Date(T0).toISOString(), reason: 'promote' })),
  };
}

/**
 * A linear lineage of `n` generations without promotion: an unmanaged seed PVC, its snapshot g1,
 * then for each next generation the clone volume v<i> of g<i-1> and its snapshot g<i>.
 */
export function chain(n: number, cache = 'c'): LineageGraph {
  const volumes: VolumeNode[] = [vol(`${cache}-seed`, { managed: false, cache })];
  const snapshots: SnapshotNode[] = [snap(`${cache}-g1`, `${cache}-seed`, { cache })];
  for (let i = 2; i <= n; i++) {
    volumes.push(vol(`${cache}-v${i}`, { origin: `${cache}-g${i - 1}`, cache }));
    snapshots.push(snap(`${cache}-g${i}`, `${cache}-v${i}`, { cache }));
  }
  const names = snapshots.map((s) => s.name).reverse();
  return { volumes, snapshots, heads: [head(cache, names)] };
}

/** A deterministic pseudo-random generator (mulberry32) for property tests and benchmarks. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A random lineage: `generations` snapshots of one cache where each generation's volume is a
 * clone of a random earlier generation (or detached), plus `clones` job clones of random
 * generations (live, kept, expired or leaked) and some candidate snapshots of them.
 */
export function randomGraph(rand: () => number, generations: number, clones: number): LineageGraph {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const volumes: VolumeNode[] = [vol('seed', { managed: rand() < 0.5 })];
  const snapshots: SnapshotNode[] = [snap('g1', 'seed')];
  for (let i = 2; i <= generations; i++) {
    volumes.push(vol(`v${i}`, { origin: pick(snapshots).name, detached: rand() < 0.1 }));
    snapshots.push(snap(`g${i}`, `v${i}`, { createdAt: T0 + i }));
  }
  const generationSnapshots = [...snapshots];
  for (let j = 0; j < clones; j++) {
    const r = rand();
    volumes.push(
      vol(`job${j}`, {
        origin: pick(snapshots).name,
        live: r < 0.4,
        ...(r >= 0.4 && r < 0.6 && { expiresAt: NOW + (rand() < 0.5 ? 1 : -1) * 3_600_000 }),
        ...(r >= 0.9 && { createdAt: NOW - 1000 }),
      }),
    );
    if (rand() < 0.3) {
      snapshots.push(snap(`cand${j}`, `job${j}`, { ready: rand() < 0.8, ...(rand() < 0.5 && { expiresAt: NOW + (rand() < 0.5 ? 1 : -1) * 3_600_000 }) }));
    }
  }
  const history = generationSnapshots
    .map((s) => s.name)
    .reverse()
    .filter(() => rand() < 0.9);
  return { volumes, snapshots, heads: [head('c', history.length > 0 ? history : ['g1'])] };
}
