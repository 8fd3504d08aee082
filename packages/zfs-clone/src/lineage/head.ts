import type { V1ConfigMap } from '@kubernetes/client-node';
import { z } from 'zod';
import { ZfsCloneError } from '../errors.js';
import { CACHE, MANAGED_BY, MANAGED_BY_VALUE, ROLE } from '../labels.js';
import { headConfigMapName } from '../names.js';
import type { CacheHead, HeadEntry } from './graph.js';

/** Most history entries kept in a head ConfigMap. */
export const HISTORY_LIMIT = 100;

const entrySchema = z.object({
  generation: z.number().int().positive(),
  snapshot: z.string().min(1),
  at: z.string(),
  reason: z.enum(['seed', 'promote', 'rollback']),
  by: z.string().optional(),
});

const dataSchema = z.object({
  cache: z.string().min(1),
  snapshot: z.string().min(1),
  generation: z.string().regex(/^\d+$/).transform(Number),
  history: z.string().transform((text, ctx) => {
    try {
      return z.array(entrySchema).parse(JSON.parse(text));
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not a JSON history list (${error instanceof Error ? error.message.split('\n')[0] : 'invalid'})` });
      return z.NEVER;
    }
  }),
});

/** Reads a cache head from its ConfigMap, reporting every problem with its key. */
export function parseHead(configMap: V1ConfigMap): CacheHead {
  const parsed = dataSchema.safeParse(configMap.data ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `data.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ZfsCloneError('CACHE_INVALID', `ConfigMap "${configMap.metadata?.name}" is not a valid cache head: ${problems}.`, {
      hint: 'Repair it with `zfs-clone rollback` or delete it and seed the cache again.',
    });
  }
  const { cache, snapshot, generation, history } = parsed.data;
  return { cache, snapshot, generation, history };
}

/** The head after moving it to `snapshot` (a new generation), history newest first and capped. */
export function advanceHead(head: CacheHead, snapshot: string, entry: Omit<HeadEntry, 'generation' | 'snapshot'>): CacheHead {
  const generation = head.generation + 1;
  return {
    cache: head.cache,
    snapshot,
    generation,
    history: [{ generation, snapshot, ...entry }, ...head.history].slice(0, HISTORY_LIMIT),
  };
}

export interface HeadConfigMapSpec {
  readonly namespace: string;
  readonly head: CacheHead;
  /** The `resourceVersion` read, for a compare-and-swap replace; omit to create. */
  readonly resourceVersion?: string | undefined;
}

/** The ConfigMap `zfs-cache-<name>` holding a cache head; replaced only with compare-and-swap. */
export function buildHeadConfigMap(spec: HeadConfigMapSpec): V1ConfigMap {
  const { head } = spec;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: headConfigMapName(head.cache),
      namespace: spec.namespace,
      labels: { [MANAGED_BY]: MANAGED_BY_VALUE, [ROLE]: 'head', [CACHE]: head.cache },
      ...(spec.resourceVersion !== undefined && { resourceVersion: spec.resourceVersion }),
    },
    data: {
      cache: head.cache,
      snapshot: head.snapshot,
      generation: String(head.generation),
      history: JSON.stringify(head.history),
    },
  };
}
