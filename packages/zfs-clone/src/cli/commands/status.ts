import { ZfsCloneError } from '../../errors.js';
import { isForbidden } from '@zfs-runner-hooks/kube';
import { readCacheEvents, type CacheEventLine } from '../../ops/events.js';
import { readLineage } from '../../ops/read-lineage.js';
import { formatBytes } from '../../quantity.js';
import { age, renderTable } from '../table.js';
import { printJson, structured, type CliContext } from '../context.js';

/** `zfs-clone status <cache>`: the head, its history, the clones of the cache and its latest events. */
export async function statusCommand(ctx: CliContext, cache: string): Promise<number> {
  const { graph } = await readLineage(ctx.kube, ctx.namespace);
  const head = graph.heads.find((h) => h.cache === cache);
  if (!head) throw new ZfsCloneError('CACHE_INVALID', `Cache "${cache}" does not exist in namespace "${ctx.namespace}".`, { hint: 'See `zfs-clone list`.' });
  const now = ctx.now().getTime();
  const snapshots = new Map(graph.snapshots.map((s) => [s.name, s]));
  const history = head.history.map((e) => {
    const s = snapshots.get(e.snapshot);
    return { ...e, exists: s !== undefined, ready: s?.ready ?? false, size: s?.size };
  });
  const clones = graph.volumes
    .filter((v) => v.cache === cache && v.origin !== undefined)
    .map((v) => ({
      pvc: v.name,
      origin: v.origin,
      state: v.live ? 'in use' : v.expiresAt !== undefined ? `kept until ${new Date(v.expiresAt).toISOString()}` : 'backs a snapshot',
      created: new Date(v.createdAt).toISOString(),
    }));
  const candidates = graph.snapshots.filter((s) => s.cache === cache && !head.history.some((e) => e.snapshot === s.name));
  // Events are a view, not the state: without the right to list them, status still answers.
  let events: CacheEventLine[] | undefined;
  let eventsNote: string | undefined;
  try {
    events = await readCacheEvents(ctx.kube, ctx.namespace, cache);
  } catch (error) {
    if (!isForbidden(error)) throw error;
    eventsNote = `not shown: not allowed to list events in namespace "${ctx.namespace}"`;
  }
  if (structured(ctx)) {
    printJson(ctx, { cache, namespace: ctx.namespace, generation: head.generation, head: head.snapshot, history, clones, candidates, events: events ?? null });
    return 0;
  }
  ctx.stdout.write(`Cache:       ${cache}\nNamespace:   ${ctx.namespace}\nGeneration:  ${head.generation}\nHead:        ${head.snapshot}\n\nHistory:\n`);
  ctx.stdout.write(
    renderTable(
      ['generation', 'snapshot', 'ready', 'size', 'reason', 'age', 'by'],
      history.map((e) => [
        String(e.generation),
        e.snapshot,
        e.exists ? String(e.ready) : 'deleted',
        formatBytes(e.size),
        e.reason,
        age(Date.parse(e.at), now),
        e.by ?? '',
      ]),
    ),
  );
  ctx.stdout.write('\nClones:\n');
  ctx.stdout.write(
    clones.length === 0
      ? '  none\n'
      : renderTable(
          ['pvc', 'origin', 'state', 'age'],
          clones.map((c) => [c.pvc, c.origin ?? '', c.state, age(Date.parse(c.created), now)]),
        ),
  );
  if (candidates.length > 0) {
    ctx.stdout.write('\nUnpromoted snapshots:\n');
    ctx.stdout.write(
      renderTable(
        ['snapshot', 'ready', 'expires', 'age'],
        // A snapshot that lost its volume still says readyToUse, but under ZFS its data is gone.
        candidates.map((s) => [
          s.name,
          s.lostVolume === undefined ? String(s.ready) : `false (volume ${s.lostVolume})`,
          s.expiresAt ? new Date(s.expiresAt).toISOString() : '-',
          age(s.createdAt, now),
        ]),
      ),
    );
  }
  ctx.stdout.write('\nEvents:\n');
  if (events === undefined) ctx.stdout.write(`  ${eventsNote ?? 'not shown'}\n`);
  else if (events.length === 0) ctx.stdout.write('  none (the API server keeps events for an hour by default)\n');
  else
    ctx.stdout.write(
      renderTable(
        ['last seen', 'type', 'reason', 'object', 'message'],
        events.map((e) => [age(Date.parse(e.at), now), e.type, e.reason, e.object, e.message]),
      ),
    );
  return 0;
}
