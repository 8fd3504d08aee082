/**
 * The lineage torture test's look at the cluster: restoring snapshots into fresh clones on the
 * real node and listing their marker files, what is stuck pending, and which data the zfs-like
 * driver still holds for the namespace (state.json) beyond what the keep policy allows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { VolumeSnapshot } from '@zfs-runner-hooks/zfs-clone';
import { apiStatus, cluster, waitFor, ZFS_LIKE_CLASS } from '../../cluster/harness.js';
import { IMAGES, realNodePod } from '../node/real-node.js';
import { SNAPSHOTS, type CacheWorld } from './cache-fixtures.js';

/** Where each job writes its marker file, relative to the cache root. */
export const MARKER_DIR = 'm';
const CONTENTS = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshotcontents' } as const;
const EXPIRES_AT = 'zrh.dev/expires-at';

interface DriverState {
  readonly datasets: Record<string, { readonly origin?: string }>;
  readonly snapshots: Record<string, { readonly dataset: string }>;
  readonly pendingDestroys: readonly string[];
}

function driverState(): DriverState {
  return JSON.parse(readFileSync(join(cluster().dir, 'csi-zfslike', 'state.json'), 'utf8')) as DriverState;
}

let restores = 0;

/**
 * Clones each snapshot into a fresh PVC (its restoreSize, class zfs-like), mounts them all in one
 * pod on the real node, and returns the marker files each holds (sorted), or the reason it could
 * not be restored. Deletes the pod and the PVCs and waits until they are gone.
 */
export async function restoreMarkers(world: CacheWorld, snapshots: readonly string[]): Promise<Map<string, string[] | { problem: string }>> {
  const ns = world.ns.name;
  const run = ++restores;
  const out = new Map<string, string[] | { problem: string }>();
  const claims: { snapshot: string; pvc: string }[] = [];
  for (const [i, snapshot] of snapshots.entries()) {
    const vs = (await world.custom.getNamespacedCustomObject({ ...SNAPSHOTS, namespace: ns, name: snapshot }).catch((e: unknown) => {
      if (apiStatus(e) === 404) return undefined;
      throw e;
    })) as VolumeSnapshot | undefined;
    if (!vs) out.set(snapshot, { problem: `VolumeSnapshot ${snapshot} does not exist` });
    else if (vs.status?.readyToUse !== true) out.set(snapshot, { problem: `VolumeSnapshot ${snapshot} is not ready` });
    else if (vs.metadata?.deletionTimestamp) out.set(snapshot, { problem: `VolumeSnapshot ${snapshot} is being deleted` });
    if (!vs || out.has(snapshot)) continue;
    const pvc = `restore-${run}-${i}`;
    const body: V1PersistentVolumeClaim = {
      metadata: { name: pvc, labels: { 'zrh-test/role': 'restore' } },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: ZFS_LIKE_CLASS,
        resources: { requests: { storage: vs.status?.restoreSize ?? '' } },
        dataSource: { apiGroup: SNAPSHOTS.group, kind: 'VolumeSnapshot', name: snapshot },
      },
    };
    await world.core.createNamespacedPersistentVolumeClaim({ namespace: ns, body });
    claims.push({ snapshot, pvc });
  }
  if (claims.length === 0) return out;
  const pod = `restore-${run}`;
  const script = claims.map((c, i) => `echo "== ${i}"; if [ -d /r/${i}/${MARKER_DIR} ]; then ls /r/${i}/${MARKER_DIR}; fi`).join('\n');
  await world.core.createNamespacedPod({
    namespace: ns,
    body: realNodePod(pod, {
      containers: [
        { name: 'ls', image: IMAGES.busybox, command: ['sh', '-c', script], volumeMounts: claims.map((c, i) => ({ name: `v${i}`, mountPath: `/r/${i}` })) },
      ],
      volumes: claims.map((c, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: c.pvc } })),
    }),
  });
  try {
    const done = await waitFor(
      `restore pod ${pod} to finish`,
      async () => {
        const p = await world.core.readNamespacedPod({ name: pod, namespace: ns });
        return { phase: p.status?.phase, conditions: (p.status?.conditions ?? []).map((c) => `${c.type}=${c.status}${c.message ? ` (${c.message})` : ''}`) };
      },
      (p) => p.phase === 'Succeeded' || p.phase === 'Failed',
      { timeoutMs: 240_000, intervalMs: 300 },
    ).catch(async (error: unknown) => {
      const events = await world.core.listNamespacedEvent({ namespace: ns });
      const mine = new Set([pod, ...claims.map((c) => c.pvc)]);
      const said = events.items
        .filter((e) => mine.has(e.involvedObject.name ?? '') && e.type === 'Warning')
        .map((e) => `${e.involvedObject.name}: ${e.reason}: ${e.message}`);
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nWarnings: ${said.join('\n') || 'none'}`);
    });
    const log = await world.core.readNamespacedPodLog({ name: pod, namespace: ns });
    if (done.phase !== 'Succeeded') throw new Error(`restore pod ${pod} failed: ${log}`);
    const sections = log.split(/^== (\d+)$/m);
    for (let i = 1; i < sections.length; i += 2) {
      const claim = claims[Number(sections[i])];
      if (claim) out.set(claim.snapshot, (sections[i + 1] ?? '').split('\n').filter(Boolean).sort());
    }
  } finally {
    await world.core.deleteNamespacedPod({ name: pod, namespace: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
    for (const c of claims) await world.core.deleteNamespacedPersistentVolumeClaim({ name: c.pvc, namespace: ns }).catch(() => undefined);
    await waitFor(
      `restore pod ${pod} and its PVCs gone`,
      async () => {
        const [pods, pvcs] = await Promise.all([
          world.core.listNamespacedPod({ namespace: ns, fieldSelector: `metadata.name=${pod}` }),
          world.core.listNamespacedPersistentVolumeClaim({ namespace: ns, labelSelector: 'zrh-test/role=restore' }),
        ]);
        return pods.items.length + pvcs.items.length;
      },
      (n) => n === 0,
      { timeoutMs: 240_000, intervalMs: 300 },
    );
  }
  return out;
}

/** Objects of the namespace waiting for something that never comes: the problems, empty when none. */
export async function stuckObjects(world: CacheWorld): Promise<string[]> {
  const ns = world.ns.name;
  const [pvcs, snaps] = await Promise.all([
    world.core.listNamespacedPersistentVolumeClaim({ namespace: ns }),
    world.custom.listNamespacedCustomObject({ ...SNAPSHOTS, namespace: ns }) as Promise<{ items: VolumeSnapshot[] }>,
  ]);
  const problems: string[] = [];
  for (const p of pvcs.items) {
    if (p.status?.phase !== 'Bound') problems.push(`PVC ${p.metadata?.name} is ${p.status?.phase ?? 'without phase'}`);
    if (p.metadata?.deletionTimestamp) problems.push(`PVC ${p.metadata.name} is being deleted`);
  }
  for (const s of snaps.items) {
    if (s.status?.readyToUse !== true) problems.push(`VolumeSnapshot ${s.metadata?.name} is not ready`);
    if (s.metadata?.deletionTimestamp) problems.push(`VolumeSnapshot ${s.metadata.name} is being deleted`);
  }
  const pvs = await world.core.listPersistentVolume();
  for (const pv of pvs.items) {
    if (pv.spec?.claimRef?.namespace !== ns) continue;
    if (pv.status?.phase !== 'Bound')
      problems.push(`PV ${pv.metadata?.name} (claim ${pv.spec.claimRef.name}) is ${pv.status?.phase}${pv.status?.message ? `: ${pv.status.message}` : ''}`);
  }
  const state = driverState();
  const origins = new Set(Object.values(state.datasets).map((d) => d.origin));
  const mine = new Set(pvs.items.filter((pv) => pv.spec?.claimRef?.namespace === ns).map((pv) => pv.metadata?.name));
  for (const pending of state.pendingDestroys) {
    if (mine.has(pending.split('@')[0]) && !origins.has(pending))
      problems.push(`the driver's destroy of snapshot ${pending} is pending though no clone depends on it`);
  }
  return problems;
}

/**
 * What is kept beyond the runners' caps (`ZFS_CLONE_MAX_KEPT_SNAPSHOTS` snapshots of the cache,
 * `ZFS_CLONE_MAX_KEPT_CLONES` clones in the namespace, both labelled `zrh.dev/kept=true` and not
 * yet expired): the problems, empty when none.
 */
export async function keptBeyondCaps(world: CacheWorld, cache: string, caps: { readonly snapshots: number; readonly clones: number }): Promise<string[]> {
  const ns = world.ns.name;
  const selector = 'zrh.dev/kept=true';
  const [pvcs, snaps] = await Promise.all([
    world.core.listNamespacedPersistentVolumeClaim({ namespace: ns, labelSelector: selector }),
    world.custom.listNamespacedCustomObject({ ...SNAPSHOTS, namespace: ns, labelSelector: `${selector},zrh.dev/cache=${cache}` }) as Promise<{
      items: VolumeSnapshot[];
    }>,
  ]);
  const now = Date.now();
  const live = <T extends { metadata?: { annotations?: Record<string, string>; deletionTimestamp?: unknown; name?: string } }>(items: readonly T[]) =>
    items.filter((o) => !o.metadata?.deletionTimestamp && Date.parse(o.metadata?.annotations?.[EXPIRES_AT] ?? '') > now).map((o) => o.metadata?.name ?? '');
  const problems: string[] = [];
  const keptSnapshots = live(snaps.items);
  const keptClones = live(pvcs.items);
  if (keptSnapshots.length > caps.snapshots)
    problems.push(`${keptSnapshots.length} kept snapshots of cache ${cache} (cap ${caps.snapshots}): ${keptSnapshots.join(', ')}`);
  if (keptClones.length > caps.clones) problems.push(`${keptClones.length} kept clones (cap ${caps.clones}): ${keptClones.join(', ')}`);
  return problems;
}

/** The driver's datasets and snapshots of the namespace, named as state.json names them. */
export interface DriverData {
  readonly datasets: readonly string[];
  readonly snapshots: readonly string[];
  readonly pending: readonly string[];
}

/**
 * What the zfs-like driver holds for the namespace beyond what the keep policy allows: the
 * allowed roots are `keptSnapshots` (the generations gc keeps), unmanaged PVCs (the seed),
 * objects whose keep time has not run out and PVCs a pod still uses; under ZFS rules a snapshot
 * also needs its dataset and a clone its origin snapshot. `known` collects the namespace's
 * datasets across calls (a dataset whose PVC is gone belongs to it still).
 */
export async function dataBeyondPolicy(
  world: CacheWorld,
  keptSnapshots: readonly string[],
  known: Set<string>,
): Promise<{ extra: string[]; data: DriverData }> {
  const ns = world.ns.name;
  const [pvcs, snaps, pvs, contents] = await Promise.all([
    world.core.listNamespacedPersistentVolumeClaim({ namespace: ns }),
    world.custom.listNamespacedCustomObject({ ...SNAPSHOTS, namespace: ns }) as Promise<{ items: VolumeSnapshot[] }>,
    world.core.listPersistentVolume(),
    world.custom.listClusterCustomObject(CONTENTS) as Promise<{
      items: { spec?: { volumeSnapshotRef?: { namespace?: string; name?: string } }; status?: { snapshotHandle?: string } }[];
    }>,
  ]);
  const state = driverState();
  for (const pv of pvs.items) if (pv.spec?.claimRef?.namespace === ns && pv.metadata?.name) known.add(pv.metadata.name);
  // Clones of the namespace's snapshots are the namespace's too.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, d] of Object.entries(state.datasets)) {
      if (!known.has(name) && d.origin && known.has(d.origin.split('@')[0] ?? '')) {
        known.add(name);
        grew = true;
      }
    }
  }
  const datasets = Object.keys(state.datasets).filter((d) => known.has(d));
  const snapshots = Object.entries(state.snapshots)
    .filter(([, s]) => known.has(s.dataset))
    .map(([name]) => name);
  const pending = state.pendingDestroys.filter((p) => known.has(p.split('@')[0] ?? ''));

  const handleOf = new Map<string, string>();
  for (const c of contents.items) {
    const ref = c.spec?.volumeSnapshotRef;
    if (ref?.namespace === ns && ref.name && c.status?.snapshotHandle) handleOf.set(ref.name, c.status.snapshotHandle);
  }
  const now = Date.now();
  const unexpired = (annotations: Record<string, string> | undefined) => {
    const at = annotations?.[EXPIRES_AT];
    return at !== undefined && Date.parse(at) > now;
  };
  const roots = new Set<string>();
  for (const s of snaps.items) {
    const name = s.metadata?.name ?? '';
    if (keptSnapshots.includes(name) || unexpired(s.metadata?.annotations)) roots.add(handleOf.get(name) ?? '');
  }
  for (const p of pvcs.items) {
    const managed = p.metadata?.labels?.['app.kubernetes.io/managed-by'] !== undefined;
    const live = (p.metadata?.ownerReferences ?? []).some((o) => o.kind === 'Pod');
    if (!managed || live || unexpired(p.metadata?.annotations)) roots.add(p.spec?.volumeName ?? '');
  }
  const allowed = new Set<string>();
  const stack = [...roots].filter(Boolean);
  while (stack.length > 0) {
    const item = stack.pop() as string;
    if (allowed.has(item)) continue;
    allowed.add(item);
    if (item.includes('@')) stack.push(item.split('@')[0] ?? '');
    else {
      const origin = state.datasets[item]?.origin;
      if (origin) stack.push(origin);
    }
  }
  const extra = [
    ...datasets.filter((d) => !allowed.has(d)).map((d) => `dataset ${d}`),
    ...snapshots.filter((s) => !allowed.has(s)).map((s) => `snapshot ${s}${pending.includes(s) ? ' (pending destroy)' : ''}`),
  ];
  return { extra, data: { datasets, snapshots, pending } };
}
