import { gc } from '../../ops/gc.js';
import { promote, readHead } from '../../ops/promote.js';
import { rollback } from '../../ops/rollback.js';
import { seed } from '../../ops/seed.js';
import { detectCapabilities } from '../../ops/capabilities.js';
import { ZfsCloneError } from '../../errors.js';
import { renderTable } from '../table.js';
import { printJson, progress, structured, type CliContext } from '../context.js';
import { headRoleReminder } from './head-rule.js';

const BY = `zfs-clone CLI (${process.env['USER'] ?? 'operator'})`;

/**
 * `zfs-clone seed <cache> --from-pvc X | --from-snapshot Y`; afterwards, on stderr, the Role rule
 * the runner needs to promote the new cache.
 */
export async function seedCommand(
  ctx: CliContext,
  cache: string,
  flags: {
    fromPvc?: string | undefined;
    fromSnapshot?: string | undefined;
    snapshotClass?: string | undefined;
    repositories?: readonly string[] | undefined;
    timeoutSeconds: number;
  },
): Promise<number> {
  const { fromPvc, fromSnapshot, snapshotClass, repositories, timeoutSeconds } = flags;
  const head = await seed(ctx.kube, {
    namespace: ctx.namespace,
    cache,
    fromPvc,
    fromSnapshot,
    snapshotClass,
    repositories,
    timeoutSeconds,
    by: BY,
    onProgress: progress(ctx, Date.now()),
    now: ctx.now,
  });
  if (structured(ctx)) printJson(ctx, head);
  else {
    const who = head.repositories
      ? `; jobs of ${head.repositories.join(', ')} may promote it`
      : "; no repository recorded: jobs promote it only where the runner's ZFS_CLONE_CACHE_REPOSITORIES binds it";
    ctx.stdout.write(`cache/${cache} seeded: generation ${head.generation} -> ${head.snapshot}${who}\n`);
  }
  ctx.stderr.write(headRoleReminder(cache));
  return 0;
}

/** `zfs-clone promote <cache> <snapshot> [--expect-generation N]`: a fast-forward from the head read (or N). */
export async function promoteCommand(ctx: CliContext, cache: string, snapshot: string, expectGeneration: number | undefined): Promise<number> {
  const { head } = await readHead(ctx.kube, ctx.namespace, cache);
  if (expectGeneration !== undefined && head.generation !== expectGeneration) {
    throw new ZfsCloneError('PROMOTE_FAILED', `Cache "${cache}" is at generation ${head.generation}, not ${expectGeneration}; nothing changed.`);
  }
  const result = await promote(ctx.kube, {
    namespace: ctx.namespace,
    cache,
    snapshot,
    expected: { generation: head.generation, snapshot: head.snapshot },
    by: BY,
    now: ctx.now,
  });
  if (structured(ctx)) printJson(ctx, result);
  else if (result.outcome === 'promoted') ctx.stdout.write(`cache/${cache} promoted: generation ${result.head.generation} -> ${snapshot}\n`);
  else ctx.stderr.write(`cache/${cache} moved to generation ${result.head.generation} meanwhile; nothing changed. Try again.\n`);
  return result.outcome === 'promoted' ? 0 : 1;
}

/** `zfs-clone rollback <cache> [--to-generation N]`. */
export async function rollbackCommand(ctx: CliContext, cache: string, toGeneration: number | undefined): Promise<number> {
  const { from, head } = await rollback(ctx.kube, { namespace: ctx.namespace, cache, toGeneration, by: BY, now: ctx.now });
  if (structured(ctx)) printJson(ctx, { from, head });
  else
    ctx.stdout.write(`cache/${cache} rolled back: generation ${head.generation} -> ${head.snapshot} (was generation ${from.generation}, ${from.snapshot})\n`);
  return 0;
}

/** `zfs-clone gc [<cache>] [--dry-run] [--keep N] [--grace S]`. */
export async function gcCommand(
  ctx: CliContext,
  cache: string | undefined,
  flags: { dryRun: boolean; keep: number; graceSeconds: number; driverNamespace: string },
): Promise<number> {
  const caps = await detectCapabilities(ctx.kube, flags.driverNamespace);
  const result = await gc(ctx.kube, {
    namespace: ctx.namespace,
    dryRun: flags.dryRun,
    driverNamespace: flags.driverNamespace,
    now: ctx.now().getTime(),
    policy: { keepGenerations: flags.keep, graceSeconds: flags.graceSeconds, canPromote: caps.zfsPromote, ...(cache !== undefined && { caches: [cache] }) },
    onProgress: progress(ctx, Date.now()),
  });
  if (structured(ctx)) {
    printJson(ctx, { dryRun: flags.dryRun, capabilities: caps, ...result });
  } else {
    for (const w of [...(caps.note !== undefined ? [caps.note] : []), ...result.problems, ...result.plan.warnings]) ctx.stderr.write(`warning: ${w}\n`);
    const verb = flags.dryRun ? 'would delete' : 'deleted';
    const done = new Set(result.deleted);
    const left = new Set(result.left);
    const action = (key: string) => (done.has(key) ? verb : left.has(key) ? 'left (changed meanwhile)' : 'failed');
    const rows = result.plan.delete.map((d) => [`${d.kind}/${d.name}`, d.cache ?? '', action(`${d.kind}/${d.name}`), d.reason]);
    ctx.stdout.write(rows.length === 0 ? 'Nothing to delete.\n' : renderTable(['object', 'cache', 'action', 'reason'], rows));
    for (const p of result.plan.promote) ctx.stdout.write(`${flags.dryRun ? 'would promote' : 'promote requested'}: volume/${p.name} (${p.reason})\n`);
    for (const f of result.failed) ctx.stderr.write(`error: ${f.object}: ${f.error}\n`);
  }
  return result.failed.length === 0 ? 0 : 1;
}
