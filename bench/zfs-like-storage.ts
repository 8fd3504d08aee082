/**
 * Snapshot and clone times of the ZFS-LocalPV look-alike storage (StorageClass `zfs-like`,
 * test/cluster/csi-zfslike) for a small and a larger cache of many small files, as Kubernetes
 * reports them (VolumeSnapshot create→readyToUse, clone PVC create→Bound) and as the driver
 * measured its own work (state.json `ops`). Asserts nothing.
 *
 *   pnpm exec tsx --conditions=source bench/zfs-like-storage.ts [large-files]   (default 524288 × 4 KiB = 2 GiB)
 *
 * Each size is snapshotted and cloned `ROUNDS` times (the medians are reported) and the ratio of
 * the large cache's figures to the small one's is printed: O(1) storage keeps it near 1.
 *
 * Uses the bench cluster (ZRH_BENCH_CLUSTER_DIR, ZRH_BENCH_PORT_BASE; ZRH_BENCH_EXTERNAL=1 for one
 * that is already up). The cache is written straight into the new volume's own layer on this
 * machine (the volume is not mounted yet), as tests do with host-path volumes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { R } from '../packages/kube/src/index.js';
import { startBenchCluster } from './lib/cluster.js';
import { heading, machineLoad, note, report, runBench } from './lib/report.js';
import { ms } from './lib/stats.js';

const BENCH = 'zfs-like-storage';
const largeFiles = Math.min(Math.max(Number(process.argv[2] ?? 524_288) || 524_288, 1_000), 600_000);
/** Snapshots and clones per cache size; the medians are reported. */
const ROUNDS = 3;
const FILE_BYTES = 4096;

type Claim = { spec?: { volumeName?: string }; status?: { phase?: string } };
type Snap = { status?: { readyToUse?: boolean; restoreSize?: string } };

interface DriverState {
  datasets: Record<string, { upper: string }>;
  ops: { op: string; target: string; durationMs: number }[];
}

async function poll<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 120_000): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && done(v)) return v;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Writes `files` files of 4 KiB in folders of 100, like a Conan store (p/<pkg>/…). */
function writeCache(root: string, files: number): void {
  const data = Buffer.alloc(FILE_BYTES, 7);
  for (let i = 0; i < files; i++) {
    const dir = join(root, 'p', `pkg${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}`), data);
  }
}

runBench(
  BENCH,
  async () => {
    const cluster = await startBenchCluster('any');
    const kube = cluster.admin;
    const claimRef = (name: string) => ({ type: R.persistentVolumeClaims, namespace, name });
    const stateFile = join(cluster.dir, 'csi-zfslike', 'state.json');
    const state = () => JSON.parse(readFileSync(stateFile, 'utf8')) as DriverState;
    const driverMs = (op: string, target: string) =>
      state()
        .ops.filter((o) => o.op === op && o.target === target)
        .pop()?.durationMs;
    const namespace = `bench-zfs-like-${Date.now().toString(36)}`;
    await kube.create({ type: R.namespaces }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    heading(`${BENCH} (${machineLoad()})`);
    try {
      const medians = new Map<string, { snapshot: number; clone: number; snapshotOp: number; cloneOp: number }>();
      const sizes = [
        ['10 MiB', 2560, '1Gi'],
        [`${((largeFiles * FILE_BYTES) / 2 ** 20).toFixed(0)} MiB`, largeFiles, `${Math.ceil((largeFiles * FILE_BYTES * 1.5) / 2 ** 30)}Gi`],
      ] as const;
      for (const [label, files, size] of sizes) {
        const src = `src-${files}`;
        await kube.create(
          { type: R.persistentVolumeClaims, namespace },
          {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: src },
            spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'zfs-like', resources: { requests: { storage: size } } },
          },
        );
        const bound = await poll(
          `PVC ${src} Bound`,
          () => kube.get<Claim>(claimRef(src)),
          (c) => c.status?.phase === 'Bound',
        );
        const volume = bound.spec?.volumeName ?? '';
        const upper = state().datasets[volume]?.upper;
        if (!upper) throw new Error(`volume ${volume} not in ${stateFile}`);
        const t0 = performance.now();
        writeCache(join(cluster.dir, 'csi-zfslike', 'layers', upper), files);
        note(`${label} cache (${files} files of 4 KiB) written in ${ms(performance.now() - t0)}`);

        const rounds: { snapshot: number; clone: number; snapshotOp: number; cloneOp: number }[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const snap = `${src}-${round}`;
          let t = performance.now();
          await kube.create(
            { type: R.volumeSnapshots, namespace },
            {
              apiVersion: 'snapshot.storage.k8s.io/v1',
              kind: 'VolumeSnapshot',
              metadata: { name: snap },
              spec: { volumeSnapshotClassName: 'zfs-like-snapclass', source: { persistentVolumeClaimName: src } },
            },
          );
          const ready = await poll(
            `VolumeSnapshot ${snap} readyToUse`,
            () => kube.get<Snap>({ type: R.volumeSnapshots, namespace, name: snap }),
            (s) => s.status?.readyToUse === true,
          );
          const snapshot = performance.now() - t;
          const snapshotOp =
            state()
              .ops.filter((o) => o.op === 'snapshot' && o.target.startsWith(`${volume}@`))
              .pop()?.durationMs ?? Number.NaN;

          t = performance.now();
          const clone = `clone-${files}-${round}`;
          await kube.create(
            { type: R.persistentVolumeClaims, namespace },
            {
              apiVersion: 'v1',
              kind: 'PersistentVolumeClaim',
              metadata: { name: clone },
              spec: {
                accessModes: ['ReadWriteOnce'],
                storageClassName: 'zfs-like',
                resources: { requests: { storage: ready.status?.restoreSize ?? size } },
                dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snap },
              },
            },
          );
          const cloneClaim = await poll(
            `PVC ${clone} Bound`,
            () => kube.get<Claim>(claimRef(clone)),
            (c) => c.status?.phase === 'Bound',
          );
          rounds.push({ snapshot, clone: performance.now() - t, snapshotOp, cloneOp: driverMs('clone', cloneClaim.spec?.volumeName ?? '') ?? Number.NaN });
        }
        const median = (k: keyof (typeof rounds)[number]) => rounds.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(rounds.length / 2)] ?? Number.NaN;
        const m = { snapshot: median('snapshot'), clone: median('clone'), snapshotOp: median('snapshotOp'), cloneOp: median('cloneOp') };
        medians.set(label, m);
        report({ bench: BENCH, figure: `snapshot ${label}: create→readyToUse (median of ${ROUNDS})`, value: ms(m.snapshot), target: '', ok: null });
        report({ bench: BENCH, figure: `snapshot ${label}: driver's own work`, value: ms(m.snapshotOp), target: '', ok: null });
        report({ bench: BENCH, figure: `clone ${label}: create→Bound (median of ${ROUNDS})`, value: ms(m.clone), target: '', ok: null });
        report({ bench: BENCH, figure: `clone ${label}: driver's own work`, value: ms(m.cloneOp), target: '', ok: null });
      }
      const [small, large] = sizes.map(([label]) => medians.get(label));
      if (small && large) {
        const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
        report({
          bench: BENCH,
          figure: `snapshot: large / 10 MiB, create→readyToUse`,
          value: ratio(large.snapshot, small.snapshot),
          target: '≤ 1.3×',
          ok: large.snapshot / small.snapshot <= 1.3,
        });
        report({
          bench: BENCH,
          figure: `clone: large / 10 MiB, create→Bound`,
          value: ratio(large.clone, small.clone),
          target: '≤ 1.3×',
          ok: large.clone / small.clone <= 1.3,
        });
      }
    } finally {
      await kube.delete({ type: R.namespaces, name: namespace }).catch(() => undefined);
      await cluster.stop();
    }
  },
  15 * 60_000,
);
