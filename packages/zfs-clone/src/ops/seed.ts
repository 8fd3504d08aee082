import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { isAlreadyExists, R, type KubeClient } from '@zfs-runner-hooks/kube';
import { buildSnapshot } from '../build/snapshot.js';
import { ZfsCloneError } from '../errors.js';
import type { CacheHead } from '../lineage/graph.js';
import { buildHeadConfigMap } from '../lineage/head.js';
import { dnsName, headConfigMapName } from '../names.js';
import { requireReadySnapshot } from './promote.js';
import { waitForSnapshot } from './wait-for-snapshot.js';

export interface SeedOptions {
  readonly namespace: string;
  readonly cache: string;
  /** Snapshot this existing PVC (it stays yours; gc never deletes it) ... */
  readonly fromPvc?: string | undefined;
  /** ... or start from this ready VolumeSnapshot. */
  readonly fromSnapshot?: string | undefined;
  readonly snapshotClass?: string | undefined;
  readonly timeoutSeconds: number;
  readonly by?: string | undefined;
  /** Repository globs (`owner/name`) whose jobs may promote the cache, recorded on its head. */
  readonly repositories?: readonly string[] | undefined;
  readonly onProgress?: (state: string) => void;
  readonly now?: () => Date;
}

/** Creates a cache: its head (generation 1) points at a snapshot of an existing PVC or at an existing snapshot. */
export async function seed(kube: KubeClient, options: SeedOptions): Promise<CacheHead> {
  const { namespace, cache } = options;
  if ((options.fromPvc === undefined) === (options.fromSnapshot === undefined)) {
    throw new ZfsCloneError('CACHE_INVALID', 'Seed needs exactly one of a PVC or a snapshot to start from.');
  }
  const existing = await kube.find({ type: R.configMaps, namespace, name: headConfigMapName(cache) });
  if (existing) {
    throw new ZfsCloneError('CACHE_INVALID', `Cache "${cache}" already exists in namespace "${namespace}".`, {
      hint: `Use \`zfs-clone promote ${cache} <snapshot>\` to move its head.`,
    });
  }
  let snapshot = options.fromSnapshot ?? '';
  let created = false;
  if (options.fromPvc !== undefined) {
    const pvc = await kube.find<V1PersistentVolumeClaim>({ type: R.persistentVolumeClaims, namespace, name: options.fromPvc });
    if (!pvc) throw new ZfsCloneError('SOURCE_UNAVAILABLE', `PVC "${options.fromPvc}" does not exist in namespace "${namespace}".`);
    snapshot = dnsName(`${cache}-seed`, options.fromPvc, String((options.now?.() ?? new Date()).getTime()));
    await kube.create(
      { type: R.volumeSnapshots, namespace },
      buildSnapshot({ name: snapshot, namespace, pvc: options.fromPvc, role: 'generation', cache, generation: 1, snapshotClass: options.snapshotClass }),
    );
    created = true;
    options.onProgress?.(`snapshot ${snapshot} of PVC ${options.fromPvc} created, waiting until ready`);
    await waitForSnapshot(kube, { namespace, name: snapshot, timeoutSeconds: options.timeoutSeconds, onProgress: options.onProgress });
  } else {
    await requireReadySnapshot(kube, namespace, snapshot);
  }
  const head: CacheHead = {
    cache,
    snapshot,
    generation: 1,
    history: [{ generation: 1, snapshot, at: (options.now?.() ?? new Date()).toISOString(), reason: 'seed', by: options.by }],
    ...(options.repositories !== undefined && options.repositories.length > 0 && { repositories: options.repositories }),
  };
  try {
    await kube.create({ type: R.configMaps, namespace }, buildHeadConfigMap({ namespace, head }));
  } catch (error) {
    if (created) await kube.delete({ type: R.volumeSnapshots, namespace, name: snapshot }).catch(() => undefined);
    if (isAlreadyExists(error)) throw new ZfsCloneError('CACHE_INVALID', `Cache "${cache}" was created by someone else meanwhile.`, { cause: error });
    throw error;
  }
  return head;
}
