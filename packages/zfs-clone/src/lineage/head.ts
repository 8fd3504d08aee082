import type { V1ConfigMap } from '@kubernetes/client-node';
import { check as c, MANAGED_BY, MANAGED_BY_LABEL, ROLE_LABEL } from '@zfs-runner-hooks/vocabulary';
import { ZfsCloneError } from '../errors.js';
import { CACHE, REPOSITORIES } from '../labels.js';
import { splitList } from '../config/glob.js';
import { headConfigMapName } from '../names.js';
import type { CacheHead, HeadEntry } from './graph.js';

/** Most history entries kept in a head ConfigMap. */
export const HISTORY_LIMIT = 100;

const entrySchema = c.object({
  generation: c.integer(1),
  snapshot: c.string({ min: 1 }),
  at: c.string(),
  reason: c.oneOf(['seed', 'promote', 'rollback'] as const),
  by: c.optional(c.string()),
});

const dataSchema = c.object({
  cache: c.string({ min: 1 }),
  snapshot: c.string({ min: 1 }),
  generation: c.map(c.string({ pattern: /^\d+$/, patternMessage: 'expected a whole number' }), Number),
  history: {
    expects: 'string',
    run: (value, path, issues) => {
      let list: unknown;
      try {
        list = JSON.parse(typeof value === 'string' ? value : '');
      } catch (error) {
        issues.push({ path: [...path], message: `not a JSON history list (${error instanceof Error ? error.message.split('\n')[0] : 'invalid'})` });
        return c.INVALID;
      }
      return c.array(entrySchema).run(list, path, issues);
    },
  } satisfies c.Check<c.Output<typeof entrySchema>[]>,
});

/** Reads a cache head from its ConfigMap, reporting every problem with its key. */
export function parseHead(configMap: V1ConfigMap): CacheHead {
  const parsed = c.parse(dataSchema, configMap.data ?? {});
  if (!parsed.ok) {
    const problems = c.formatIssues(parsed.issues, ['data']).join('; ');
    throw new ZfsCloneError('CACHE_INVALID', `ConfigMap "${configMap.metadata?.name}" is not a valid cache head: ${problems}.`, {
      hint: 'Repair it with `zfs-clone rollback` or delete it and seed the cache again.',
    });
  }
  const { cache, snapshot, generation, history } = parsed.value;
  const expectedName = headConfigMapName(cache);
  if (configMap.metadata?.name !== undefined && configMap.metadata.name !== expectedName) {
    throw new ZfsCloneError(
      'CACHE_INVALID',
      `ConfigMap "${configMap.metadata.name}" is not a valid cache head: data.cache says "${cache}", whose head is "${expectedName}".`,
      {
        hint: 'Repair it with `zfs-clone rollback` or delete it and seed the cache again.',
      },
    );
  }
  const recorded = configMap.metadata?.annotations?.[REPOSITORIES];
  return { cache, snapshot, generation, history, ...(recorded !== undefined && { repositories: splitList(recorded) }) };
}

/** The head after moving it to `snapshot` (a new generation), history newest first and capped. */
export function advanceHead(head: CacheHead, snapshot: string, entry: Omit<HeadEntry, 'generation' | 'snapshot'>): CacheHead {
  const generation = head.generation + 1;
  return {
    cache: head.cache,
    snapshot,
    generation,
    history: [{ generation, snapshot, ...entry }, ...head.history].slice(0, HISTORY_LIMIT),
    ...(head.repositories !== undefined && { repositories: head.repositories }),
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
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [ROLE_LABEL]: 'head', [CACHE]: head.cache },
      ...(head.repositories !== undefined && { annotations: { [REPOSITORIES]: head.repositories.join(',') } }),
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
