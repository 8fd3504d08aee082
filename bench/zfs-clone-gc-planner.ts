/**
 * Benchmark: the gc planner over a lineage of 1,000 generations and 200 live clones (target
 * ≤ 100 ms per plan). Prints figures; asserts nothing.
 *   pnpm exec tsx bench/zfs-clone-gc-planner.ts
 */
import { performance } from 'node:perf_hooks';
import type { LineageGraph, SnapshotNode, VolumeNode } from '../packages/zfs-clone/src/lineage/graph.js';
import { chain, NOW, random, snap, vol } from '../packages/zfs-clone/src/lineage/graph.fixtures.js';
import { planGc } from '../packages/zfs-clone/src/lineage/plan-gc.js';

function lineage(generations: number, liveClones: number, detachEvery: number): LineageGraph {
  const rand = random(42);
  const base = chain(generations);
  const volumes: VolumeNode[] = base.volumes.map((v, i) => (detachEvery > 0 && i % detachEvery === 0 ? { ...v, detached: true } : v));
  const snapshots: SnapshotNode[] = [...base.snapshots];
  for (let j = 0; j < liveClones; j++) {
    const origin = `c-g${generations - Math.floor(rand() * Math.min(generations, 50))}`;
    volumes.push(vol(`job${j}`, { origin, live: true }));
    if (j % 4 === 0) snapshots.push(snap(`cand${j}`, `job${j}`, { expiresAt: NOW - 1 }));
  }
  for (let k = 0; k < 100; k++) volumes.push(vol(`kept${k}`, { origin: `c-g${1 + Math.floor(rand() * generations)}`, expiresAt: NOW + (k % 2 ? 1 : -1) }));
  return { volumes, snapshots, heads: base.heads };
}

function measure(name: string, graph: LineageGraph, runs = 30): void {
  const times: number[] = [];
  let deleted = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const plan = planGc(graph, { keepGenerations: 5, graceSeconds: 600, canPromote: true }, NOW);
    times.push(performance.now() - start);
    deleted = plan.delete.length;
  }
  const first = times[0] ?? 0;
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? 0;
  const max = times[times.length - 1] ?? 0;
  console.log(
    `${name}: ${graph.volumes.length} volumes, ${graph.snapshots.length} snapshots -> ${deleted} deletions; ` +
      `first (cold) ${first.toFixed(1)} ms, median ${median.toFixed(1)} ms, max ${max.toFixed(1)} ms over ${runs} runs; target <= 100 ms`,
  );
}

measure('gc planner, 1,000 generations unpromoted chain, 200 live clones', lineage(1000, 200, 0));
measure('gc planner, 1,000 generations detached every 10, 200 live clones', lineage(1000, 200, 10));
