import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { splitList } from '../config/glob.js';
import { isCacheName } from '../config/source.js';
import { listCommand } from './commands/list.js';
import { statusCommand } from './commands/status.js';
import { gcCommand, promoteCommand, rollbackCommand, seedCommand } from './commands/change.js';
import { UsageError, type CliContext } from './context.js';

export const USAGE = `Usage: zfs-clone <command> [options]

Commands:
  list                                   caches with head, generations, size and clones
  status <cache>                         a cache's head, history and clones
  seed <cache> --from-pvc <pvc>          create a cache from a snapshot of an existing PVC
  seed <cache> --from-snapshot <snap>    create a cache from a ready VolumeSnapshot
          [--repository <owner/name>]    ... that jobs of this repository may promote (repeatable, globs)
  promote <cache> <snapshot>             move the head to a ready snapshot (fast-forward)
          [--expect-generation <n>]      ... only if the head is still generation n
  rollback <cache> [--to-generation <n>] point the head back at an older generation
  gc [<cache>] [--dry-run] [--keep <n>]  delete what no kept generation or clone needs
          [--grace <seconds>] [--driver-namespace <ns>]

Options:
  -n, --namespace <ns>     namespace (default: the kubeconfig's)
  -o, --output table|json  output format (default: table)
      --kubeconfig <file>  kubeconfig file (default: KUBECONFIG, in-cluster, ~/.kube/config)
      --snapshot-class <c> VolumeSnapshotClass for seed
      --timeout <seconds>  how long seed waits for its snapshot (default: 300)
  -h, --help

Exit codes: 0 ok, 1 failure, 2 usage error.
`;

export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Creates the client once arguments are valid. */
  readonly connect: (kubeconfig: string | undefined) => Promise<KubeClient>;
  readonly now?: () => Date;
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} expects a whole number, got "${value}"`);
  return Number(value);
}

function cacheArg(value: string | undefined, command: string): string {
  if (value === undefined) throw new UsageError(`${command} needs a cache name`);
  if (!isCacheName(value)) throw new UsageError(`"${value}" is not a cache name (lower-case letters, digits and "-")`);
  return value;
}

/** `--repository` values (repeated or comma-separated), each `owner/name` or a glob of it. */
function repositoriesArg(values: readonly string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const list = values.flatMap((v) => splitList(v));
  for (const r of list) {
    if (!/^[^\s/,=]+\/[^\s/,=]+$/.test(r)) throw new UsageError(`--repository expects owner/name (globs allowed), got "${r}"`);
  }
  return list;
}

/** Runs the CLI; resolves the exit code. Errors are printed, never thrown. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let kube: KubeClient | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        output: { type: 'string', short: 'o', default: 'table' },
        kubeconfig: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        'from-pvc': { type: 'string' },
        'from-snapshot': { type: 'string' },
        'snapshot-class': { type: 'string' },
        repository: { type: 'string', multiple: true },
        timeout: { type: 'string' },
        'expect-generation': { type: 'string' },
        'to-generation': { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        keep: { type: 'string' },
        grace: { type: 'string' },
        'driver-namespace': { type: 'string', default: 'openebs' },
      },
    });
    const [command, ...rest] = positionals;
    if (values.help || command === undefined || command === 'help') {
      io.stdout.write(USAGE);
      return command === undefined && !values.help ? 2 : 0;
    }
    if (values.output !== 'table' && values.output !== 'json') throw new UsageError(`--output must be table or json, got "${values.output}"`);
    const arity: Record<string, [number, number]> = { list: [0, 0], status: [1, 1], seed: [1, 1], promote: [2, 2], rollback: [1, 1], gc: [0, 1] };
    const bounds = arity[command];
    if (!bounds) throw new UsageError(`unknown command "${command}"`);
    if (rest.length < bounds[0] || rest.length > bounds[1]) throw new UsageError(`${command} takes ${bounds[0] === bounds[1] ? bounds[0] : `${bounds[0]} to ${bounds[1]}`} argument(s), got ${rest.length}`);
    const keep = integer('keep', values.keep) ?? 5;
    const grace = integer('grace', values.grace) ?? 600;
    const timeout = integer('timeout', values.timeout) ?? 300;
    const expectGeneration = integer('expect-generation', values['expect-generation']);
    const toGeneration = integer('to-generation', values['to-generation']);
    const cache = command === 'list' || (command === 'gc' && rest[0] === undefined) ? undefined : cacheArg(rest[0], command);

    kube = await io.connect(values.kubeconfig);
    const ctx: CliContext = {
      kube,
      namespace: values.namespace ?? kube.defaultNamespace,
      output: values.output,
      stdout: io.stdout,
      stderr: io.stderr,
      now: io.now ?? (() => new Date()),
    };
    switch (command) {
      case 'list':
        return await listCommand(ctx);
      case 'status':
        return await statusCommand(ctx, cache as string);
      case 'seed':
        return await seedCommand(ctx, cache as string, {
          fromPvc: values['from-pvc'],
          fromSnapshot: values['from-snapshot'],
          snapshotClass: values['snapshot-class'],
          repositories: repositoriesArg(values.repository),
          timeoutSeconds: timeout,
        });
      case 'promote':
        return await promoteCommand(ctx, cache as string, rest[1] as string, expectGeneration);
      case 'rollback':
        return await rollbackCommand(ctx, cache as string, toGeneration);
      default:
        return await gcCommand(ctx, cache, { dryRun: values['dry-run'], keep, graceSeconds: grace, driverNamespace: values['driver-namespace'] });
    }
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      io.stderr.write(`error: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    kube?.close();
  }
}
