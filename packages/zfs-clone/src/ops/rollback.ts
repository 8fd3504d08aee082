import type { V1ConfigMap } from '@kubernetes/client-node';
import { isConflict, R, type KubeClient } from '@zfs-runner-hooks/kube';
import { ZfsCloneError } from '../errors.js';
import type { CacheHead } from '../lineage/graph.js';
import { advanceHead, buildHeadConfigMap } from '../lineage/head.js';
import { headConfigMapName } from '../names.js';
import { claimForHead, readHead, settleHead } from './promote.js';

export interface RollbackOptions {
  readonly namespace: string;
  readonly cache: string;
  /** The generation whose snapshot becomes the head again; default: the one before the head. */
  readonly toGeneration?: number | undefined;
  readonly by?: string | undefined;
  readonly now?: () => Date;
}

/**
 * Points a cache head back at an older generation's snapshot. The head still gets a new
 * generation number, so jobs that cloned the abandoned head cannot promote over the rollback.
 */
export async function rollback(kube: KubeClient, options: RollbackOptions): Promise<{ from: CacheHead; head: CacheHead }> {
  const { namespace, cache } = options;
  for (;;) {
    const { head, resourceVersion } = await readHead(kube, namespace, cache);
    const target = options.toGeneration === undefined ? head.history[1] : head.history.find((e) => e.generation === options.toGeneration);
    if (!target) {
      const known = head.history.map((e) => e.generation).join(', ');
      throw new ZfsCloneError(
        'CACHE_INVALID',
        options.toGeneration === undefined
          ? `Cache "${cache}" has no generation before the head (generation ${head.generation}).`
          : `Cache "${cache}" has no generation ${options.toGeneration} in its history (known: ${known}).`,
      );
    }
    if (target.snapshot === head.snapshot) {
      throw new ZfsCloneError('CACHE_INVALID', `Generation ${target.generation} of cache "${cache}" is the current head snapshot already.`);
    }
    // Claimed against a gc that read the head before this rollback (see claimForHead).
    await claimForHead(kube, namespace, target.snapshot, options.now?.() ?? new Date());
    const next = advanceHead(head, target.snapshot, {
      at: (options.now?.() ?? new Date()).toISOString(),
      reason: 'rollback',
      by: options.by ?? `rollback to generation ${target.generation}`,
    });
    let swapped: V1ConfigMap;
    try {
      swapped = await kube.replace(
        { type: R.configMaps, namespace, name: headConfigMapName(cache) },
        buildHeadConfigMap({ namespace, head: next, resourceVersion }),
      );
    } catch (error) {
      if (isConflict(error)) continue;
      throw error;
    }
    await settleHead(kube, namespace, next, swapped);
    return { from: head, head: next };
  }
}
