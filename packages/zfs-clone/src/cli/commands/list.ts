import { formatBytes } from '../../quantity.js';
import { readLineage } from '../../ops/read-lineage.js';
import { age, renderTable } from '../table.js';
import { printJson, structured, type CliContext } from '../context.js';

/** `zfs-clone list`: every cache of the namespace with head, generations, size and clones. */
export async function listCommand(ctx: CliContext): Promise<number> {
  const { graph, problems } = await readLineage(ctx.kube, ctx.namespace);
  const now = ctx.now().getTime();
  const snapshots = new Map(graph.snapshots.map((s) => [s.name, s]));
  const caches = graph.heads.map((h) => {
    const clones = graph.volumes.filter((v) => v.cache === h.cache && v.origin !== undefined);
    const generations = h.history.filter((e) => snapshots.has(e.snapshot));
    return {
      cache: h.cache,
      generation: h.generation,
      head: h.snapshot,
      size: snapshots.get(h.snapshot)?.size,
      ready: snapshots.get(h.snapshot)?.ready ?? false,
      generationsKept: new Set(generations.map((e) => e.snapshot)).size,
      liveClones: clones.filter((v) => v.live).length,
      keptClones: clones.filter((v) => v.expiresAt !== undefined && v.expiresAt > now).length,
      updated: h.history[0]?.at,
    };
  });
  if (structured(ctx)) {
    printJson(ctx, { namespace: ctx.namespace, caches, problems });
    return 0;
  }
  for (const p of problems) ctx.stderr.write(`warning: ${p}\n`);
  if (caches.length === 0) {
    ctx.stderr.write(`No caches in namespace ${ctx.namespace}.\n`);
    return 0;
  }
  ctx.stdout.write(
    renderTable(
      ['cache', 'generation', 'head', 'ready', 'size', 'generations', 'live clones', 'kept clones', 'updated'],
      caches.map((c) => [
        c.cache,
        String(c.generation),
        c.head,
        String(c.ready),
        formatBytes(c.size),
        String(c.generationsKept),
        String(c.liveClones),
        String(c.keptClones),
        age(c.updated ? Date.parse(c.updated) : undefined, now),
      ]),
    ),
  );
  return 0;
}
