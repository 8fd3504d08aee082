import type { Writable } from 'node:stream';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { splitList } from '../config/glob.js';
import { isCacheName } from '../config/source.js';
import { listCommand } from './commands/list.js';
import { statusCommand } from './commands/status.js';
import { gcCommand, promoteCommand, rollbackCommand, seedCommand } from './commands/change.js';
import { parseCommandLine, usage, UsageError, type CommandLine } from './args.js';
import type { CliContext } from './context.js';

/** Where to connect: kubectl's `--kubeconfig` and `--context`. */
export interface ConnectOptions {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
}

export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Creates the client once arguments are valid. */
  readonly connect: (options: ConnectOptions) => Promise<KubeClient>;
  readonly now?: () => Date;
}

/** Exit codes (also in the usage text and the README). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The checked values of a command line; every problem is collected into `problems`. */
function checkValues(line: CommandLine, problems: string[]) {
  const o = line.options;
  const str = (name: string) => (typeof o[name] === 'string' ? (o[name] as string) : undefined);
  const whole = (name: string, fallback?: number) => {
    const v = str(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v)) problems.push(`--${name} expects a whole number, got "${v}"`);
    return Number(v);
  };
  const output = str('output') ?? 'table';
  if (output !== 'table' && output !== 'json' && output !== 'yaml') problems.push(`--output must be table, json or yaml, got "${output}"`);
  const [first, second] = line.positionals;
  const cache = first === undefined || line.command === 'list' ? undefined : first;
  if (cache !== undefined && !isCacheName(cache)) problems.push(`"${cache}" is not a cache name (lower-case letters, digits and "-")`);
  const repositories = Array.isArray(o['repository']) ? o['repository'].flatMap((v) => splitList(v)) : undefined;
  for (const r of repositories ?? []) if (!/^[^\s/,=]+\/[^\s/,=]+$/.test(r)) problems.push(`--repository expects owner/name (globs allowed), got "${r}"`);
  if (line.command === 'seed' && (str('from-pvc') === undefined) === (str('from-snapshot') === undefined)) problems.push('seed needs exactly one of --from-pvc or --from-snapshot');
  return {
    output: output as CliContext['output'],
    cache,
    snapshot: second,
    namespace: str('namespace'),
    kubeconfig: str('kubeconfig'),
    context: str('context'),
    fromPvc: str('from-pvc'),
    fromSnapshot: str('from-snapshot'),
    snapshotClass: str('snapshot-class'),
    repositories,
    timeoutSeconds: whole('timeout', 300) as number,
    expectGeneration: whole('expect-generation'),
    toGeneration: whole('to-generation'),
    dryRun: o['dry-run'] === true,
    keep: whole('keep', 5) as number,
    graceSeconds: whole('grace', 600) as number,
    driverNamespace: str('driver-namespace') ?? 'openebs',
  };
}

function writeUsageError(io: CliIo, error: UsageError): number {
  const list = error.problems.length === 1 ? `error: ${error.problems[0]}\n` : `error: ${error.problems.length} problems:\n${error.problems.map((p) => `  - ${p}\n`).join('')}`;
  io.stderr.write(`${list}\n${usage(error.command)}`);
  return EXIT.usage;
}

/** Runs the CLI; resolves the exit code. Errors are printed, never thrown. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let kube: KubeClient | undefined;
  try {
    const line = parseCommandLine(argv);
    if (line.help || line.command === undefined) {
      io.stdout.write(usage(line.command));
      return line.help ? EXIT.ok : EXIT.usage;
    }
    const problems: string[] = [];
    const v = checkValues(line, problems);
    if (problems.length > 0) throw new UsageError(problems, line.command);

    kube = await io.connect({ kubeconfig: v.kubeconfig, context: v.context });
    const ctx: CliContext = {
      kube,
      namespace: v.namespace ?? kube.defaultNamespace,
      output: v.output,
      stdout: io.stdout,
      stderr: io.stderr,
      showProgress: (io.stderr as { isTTY?: boolean }).isTTY === true,
      now: io.now ?? (() => new Date()),
    };
    const cache = v.cache as string;
    switch (line.command) {
      case 'list':
        return await listCommand(ctx);
      case 'status':
        return await statusCommand(ctx, cache);
      case 'seed':
        return await seedCommand(ctx, cache, v);
      case 'promote':
        return await promoteCommand(ctx, cache, v.snapshot as string, v.expectGeneration);
      case 'rollback':
        return await rollbackCommand(ctx, cache, v.toGeneration);
      case 'gc':
        return await gcCommand(ctx, v.cache, v);
      default:
        return line.command satisfies never;
    }
  } catch (error) {
    if (error instanceof UsageError) return writeUsageError(io, error);
    io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  } finally {
    kube?.close();
  }
}
