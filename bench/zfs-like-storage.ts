/**
 * Snapshot and clone times of the ZFS-LocalPV look-alike storage (StorageClass `zfs-like`,
 * test/cluster/csi-zfslike) for a small and a larger cache of many small files, as Kubernetes
 * reports them (VolumeSnapshot create→readyToUse, clone PVC create→Bound) and as the driver
 * measured its own work (state.json `ops`). Asserts nothing.
 *
 *   pnpm exec tsx --conditions=source bench/zfs-like-storage.ts [large-files]   (default 40000 × 4 KiB)
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
const largeFiles = Math.min(Math.max(Number(process.argv[2] ?? 40_000) || 40_000, 1_000), 200_000);
const FILE_BYTES = 4096;

type Claim = { spec?: { volumeName?: string }; status?: { phase?: string } };
type Snap = { status?: { readyToUse?: boolean } };

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

runBench(BENCH, async () => {
  const cluster = await startBenchCluster('any');
  const kube = cluster.admin;
  const claimRef = (name: string) => ({ type: R.persistentVolumeClaims, namespace, name });
  const stateFile = join(cluster.dir, 'csi-zfslike', 'state.json');
  const state = () => JSON.parse(readFileSync(stateFile, 'utf8')) as DriverState;
  const driverMs = (op: string, target: string) => state().ops.filter((o) => o.op === op && o.target === target).pop()?.durationMs;
  const namespace = `bench-zfs-like-${Date.now().toString(36)}`;
  await kube.create({ type: R.namespaces }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  heading(`${BENCH} (${machineLoad()})`);
  try {
    for (const [label, files] of [['10 MiB', 2560], [`${((largeFiles * FILE_BYTES) / 2 ** 20).toFixed(0)} MiB`, largeFiles]] as const) {
      const src = `src-${files}`;
      await kube.create({ type: R.persistentVolumeClaims, namespace }, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: src },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'zfs-like', resources: { requests: { storage: '1Gi' } } },
      });
      const bound = await poll(`PVC ${src} Bound`, () => kube.get<Claim>(claimRef(src)), (c) => c.status?.phase === 'Bound');
      const volume = bound.spec?.volumeName ?? '';
      const upper = state().datasets[volume]?.upper;
      if (!upper) throw new Error(`volume ${volume} not in ${stateFile}`);
      let t = performance.now();
      writeCache(join(cluster.dir, 'csi-zfslike', 'layers', upper), files);
      note(`${label} cache (${files} files of 4 KiB) written in ${ms(performance.now() - t)}`);

      t = performance.now();
      await kube.create({ type: R.volumeSnapshots, namespace }, {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: src },
        spec: { volumeSnapshotClassName: 'zfs-like-snapclass', source: { persistentVolumeClaimName: src } },
      });
      await poll(`VolumeSnapshot ${src} readyToUse`, () => kube.get<Snap>({ type: R.volumeSnapshots, namespace, name: src }), (s) => s.status?.readyToUse === true);
      const snapshotApiMs = performance.now() - t;
      const snapOp = state().ops.filter((o) => o.op === 'snapshot' && o.target.startsWith(`${volume}@`)).pop()?.durationMs;

      t = performance.now();
      const clone = `clone-${files}`;
      await kube.create({ type: R.persistentVolumeClaims, namespace }, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: clone },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'zfs-like', resources: { requests: { storage: '1Gi' } }, dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: src } },
      });
      const cloneClaim = await poll(`PVC ${clone} Bound`, () => kube.get<Claim>(claimRef(clone)), (c) => c.status?.phase === 'Bound');
      const cloneApiMs = performance.now() - t;
      const cloneOp = driverMs('clone', cloneClaim.spec?.volumeName ?? '');

      report({ bench: BENCH, figure: `snapshot ${label}: create→readyToUse`, value: ms(snapshotApiMs), target: '', ok: null });
      report({ bench: BENCH, figure: `snapshot ${label}: driver's own work`, value: snapOp === undefined ? 'n/a' : ms(snapOp), target: '', ok: null });
      report({ bench: BENCH, figure: `clone ${label}: create→Bound`, value: ms(cloneApiMs), target: '', ok: null });
      report({ bench: BENCH, figure: `clone ${label}: driver's own work`, value: cloneOp === undefined ? 'n/a' : ms(cloneOp), target: '', ok: null });
    }
  } finally {
    await kube.delete({ type: R.namespaces, name: namespace }).catch(() => undefined);
    await cluster.stop();
  }
}, 15 * 60_000);
