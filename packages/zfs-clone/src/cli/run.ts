import type { Writable } from 'node:stream';
import type { KubeClient } from '@zfs-runner-hooks/kube';
import { check as c, type Issue } from '@zfs-runner-hooks/vocabulary';
import { splitList } from '../config/glob.js';
import { isCacheName } from '../config/source.js';
import { listCommand } from './commands/list.js';
import { statusCommand } from './commands/status.js';
import { gcCommand, promoteCommand, rollbackCommand, seedCommand } from './commands/change.js';
import { parseCommandLine, usage, UsageError, type CommandLine, type CommandName } from './args.js';
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

/** A check of one option's value whose problem names the option: `--keep expects a whole number, got "lots"`. */
function option<T>(flag: string, expects: string, convert: (text: string) => T | undefined): c.Check<T> {
  return {
    expects,
    run: (value, path, issues) => {
      const out = typeof value === 'string' ? convert(value) : undefined;
      if (out !== undefined) return out;
      issues.push({ path: [...path], message: `--${flag} ${expects}, got ${typeof value === 'string' ? JSON.stringify(value) : c.typeName(value)}` });
      return c.INVALID;
    },
  };
}

const value = (flag: string) => option(flag, 'expects a value', (v) => v);
const text = (flag: string) => c.optional(value(flag));
const whole = (flag: string) => option(flag, 'expects a whole number', (v) => (/^\d+$/.test(v) ? Number(v) : undefined));
const OUTPUTS = ['table', 'json', 'yaml'] as const;
const REPOSITORY = /^[^\s/,=]+\/[^\s/,=]+$/;

/** `--repository` (repeatable, comma-separated): every `owner/name` that is not one is a problem of its own. */
const repositories: c.Check<string[]> = {
  expects: 'owner/name',
  run: (value, path, issues) => {
    const names = c.array(c.string()).run(value, path, issues);
    if (names === c.INVALID) return c.INVALID;
    const each = names.flatMap((v) => splitList(v));
    const item = option('repository', 'expects owner/name (globs allowed)', (r) => (REPOSITORY.test(r) ? r : undefined));
    return each.every((r) => item.run(r, path, issues) !== c.INVALID) ? each : c.INVALID;
  },
};

/** The options of every command, checked (their defaults filled); each problem names its option. */
const optionsSchema = c.object({
  output: c.optional(
    option('output', 'must be table, json or yaml', (v) => OUTPUTS.find((o) => o === v)),
    OUTPUTS[0],
  ),
  namespace: text('namespace'),
  kubeconfig: text('kubeconfig'),
  context: text('context'),
  'from-pvc': text('from-pvc'),
  'from-snapshot': text('from-snapshot'),
  'snapshot-class': text('snapshot-class'),
  repository: c.optional(repositories),
  timeout: c.optional(whole('timeout'), 300),
  'expect-generation': c.optional(whole('expect-generation')),
  'to-generation': c.optional(whole('to-generation')),
  'dry-run': c.optional(c.boolean(), false),
  keep: c.optional(whole('keep'), 5),
  grace: c.optional(whole('grace'), 600),
  'driver-namespace': c.optional(value('driver-namespace'), 'openebs'),
});

/** The checked values of a command line; every problem is collected into `problems`. */
function checkValues(line: CommandLine, problems: string[]) {
  const issues: Issue[] = [];
  const checked = optionsSchema.run(line.options, [], issues);
  problems.push(...issues.map((i) => i.message));
  const [first, second] = line.positionals;
  const cache = first === undefined || line.command === 'list' ? undefined : first;
  if (cache !== undefined && !isCacheName(cache)) problems.push(`"${cache}" is not a cache name (lower-case letters, digits and "-")`);
  if (checked === c.INVALID) return undefined;
  const o = checked;
  if (line.command === 'seed' && (o['from-pvc'] === undefined) === (o['from-snapshot'] === undefined))
    problems.push('seed needs exactly one of --from-pvc or --from-snapshot');
  return {
    output: o.output,
    cache,
    snapshot: second,
    namespace: o.namespace,
    kubeconfig: o.kubeconfig,
    context: o.context,
    fromPvc: o['from-pvc'],
    fromSnapshot: o['from-snapshot'],
    snapshotClass: o['snapshot-class'],
    repositories: o.repository,
    timeoutSeconds: o.timeout,
    expectGeneration: o['expect-generation'],
    toGeneration: o['to-generation'],
    dryRun: o['dry-run'],
    keep: o.keep,
    graceSeconds: o.grace,
    driverNamespace: o['driver-namespace'],
  };
}

/** A positional argument `parseCommandLine` has already required. */
function given(value: string | undefined, what: string, command: CommandName): string {
  if (value === undefined) throw new UsageError([`${command} needs ${what}`], command);
  return value;
}

function writeUsageError(io: CliIo, error: UsageError): number {
  const list =
    error.problems.length === 1
      ? `error: ${error.problems[0]}\n`
      : `error: ${error.problems.length} problems:\n${error.problems.map((p) => `  - ${p}\n`).join('')}`;
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
    if (v === undefined || problems.length > 0) throw new UsageError(problems, line.command);

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
    const { command } = line;
    const cache = () => given(v.cache, '<cache>', command);
    switch (line.command) {
      case 'list':
        return await listCommand(ctx);
      case 'status':
        return await statusCommand(ctx, cache());
      case 'seed':
        return await seedCommand(ctx, cache(), v);
      case 'promote':
        return await promoteCommand(ctx, cache(), given(v.snapshot, '<snapshot>', command), v.expectGeneration);
      case 'rollback':
        return await rollbackCommand(ctx, cache(), v.toGeneration);
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
