import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { readonly value?: string; readonly help: string };

/** Options every command takes (kubectl's names and meanings). */
export const GLOBAL_OPTIONS = {
  namespace: { type: 'string', short: 'n', value: '<ns>', help: "namespace (default: the kubeconfig context's, or the pod's)" },
  output: { type: 'string', short: 'o', value: 'table|json|yaml', help: 'output format (default: table)' },
  kubeconfig: {
    type: 'string',
    value: '<file>',
    help: 'kubeconfig file, read alone (default: KUBECONFIG, merged; in a pod its ServiceAccount; ~/.kube/config)',
  },
  context: { type: 'string', value: '<name>', help: 'kubeconfig context (default: current-context)' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
} as const satisfies Record<string, OptionSpec>;

/** A command: its arguments, its own options and one line of help. */
export interface CommandSpec {
  readonly summary: string;
  /** Positional arguments, e.g. `['<cache>', '[<snapshot>]']`; a `[…]` one is optional. */
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
}

export const COMMANDS = {
  list: { summary: 'caches with head, generations, size and clones', args: [], options: {} },
  status: { summary: "a cache's head, history, clones and its latest events", args: ['<cache>'], options: {} },
  seed: {
    summary: 'create a cache from a snapshot of a PVC or from a ready VolumeSnapshot',
    args: ['<cache>'],
    options: {
      'from-pvc': { type: 'string', value: '<pvc>', help: 'snapshot this PVC (a filled seed volume)' },
      'from-snapshot': { type: 'string', value: '<snapshot>', help: 'use this ready VolumeSnapshot' },
      repository: {
        type: 'string',
        multiple: true,
        value: '<owner/name>',
        help: 'jobs of this repository may promote the cache (repeatable, comma-separated, globs)',
      },
      'snapshot-class': { type: 'string', value: '<class>', help: 'VolumeSnapshotClass (default: the cluster default for the driver)' },
      timeout: { type: 'string', value: '<seconds>', help: 'how long to wait for the snapshot (default: 300)' },
    },
  },
  promote: {
    summary: 'move the head to a ready snapshot (fast-forward)',
    args: ['<cache>', '<snapshot>'],
    options: { 'expect-generation': { type: 'string', value: '<n>', help: 'only if the head is still generation n' } },
  },
  rollback: {
    summary: 'point the head back at an older generation',
    args: ['<cache>'],
    options: { 'to-generation': { type: 'string', value: '<n>', help: 'the generation to go back to (default: the previous one)' } },
  },
  gc: {
    summary: 'delete what no kept generation or clone needs',
    args: ['[<cache>]'],
    options: {
      'dry-run': { type: 'boolean', help: 'print the plan, delete nothing' },
      keep: { type: 'string', value: '<n>', help: 'generations to keep per cache (default: 5)' },
      grace: { type: 'string', value: '<seconds>', help: 'never delete what is younger (default: 600)' },
      'driver-namespace': { type: 'string', value: '<ns>', help: 'namespace of the ZFS-LocalPV driver (default: openebs)' },
    },
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

/** Arguments that cannot run: every problem found, and the command they were for (for its usage). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    readonly problems: readonly string[],
    readonly command?: CommandName,
  ) {
    super(problems.join('; '));
  }
}

/** What `parseCommandLine` found. */
export interface CommandLine {
  readonly command: CommandName | undefined;
  /** `--help` or `help [<command>]`. */
  readonly help: boolean;
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, string | boolean | string[] | undefined>>;
}

const isCommand = (name: string | undefined): name is CommandName => name !== undefined && Object.hasOwn(COMMANDS, name);

/** Where the command is: the first argument that is not an option or a global option's value. */
function findCommand(argv: readonly string[]): number {
  const takesValue = new Set<string>();
  for (const [name, spec] of Object.entries(GLOBAL_OPTIONS)) {
    if (spec.type === 'string') {
      takesValue.add(`--${name}`);
      if ('short' in spec) takesValue.add(`-${spec.short}`);
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') return i + 1 < argv.length ? i + 1 : -1;
    if (!arg.startsWith('-')) return i;
    if (takesValue.has(arg)) i++;
  }
  return -1;
}

/**
 * Parses a command line with `util.parseArgs`, using the global options and those of the command
 * it names. Every problem is collected (unknown command or option, missing value, wrong number of
 * arguments) and thrown at once as a `UsageError`; values are checked by the caller.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const at = findCommand(argv);
  let name = at < 0 ? undefined : argv[at];
  const rest = at < 0 ? [...argv] : [...argv.slice(0, at), ...argv.slice(at + 1)];
  let help = false;
  if (name === 'help') {
    help = true;
    name = rest.find((a) => !a.startsWith('-'));
    if (name !== undefined) rest.splice(rest.indexOf(name), 1);
  }
  const problems: string[] = [];
  if (name !== undefined && !isCommand(name)) problems.push(`unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
  const command = isCommand(name) ? name : undefined;
  const spec: CommandSpec | undefined = command === undefined ? undefined : COMMANDS[command];
  const options: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS, ...spec?.options };
  const { values, tokens } = parseArgs({ args: rest, options, allowPositionals: true, strict: false, tokens: true });
  const seen = new Set<string>();
  // `list --keep 3`: the 3 is the unknown option's value, not an argument of the command.
  const valueOfUnknown = new Set<number>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const known = options[token.name];
    if (!known) {
      const elsewhere = Object.entries(COMMANDS)
        .filter(([, c]) => Object.hasOwn(c.options, token.name))
        .map(([n]) => n);
      if (!token.inlineValue && tokens.find((t) => t.index === token.index + 1)?.kind === 'positional') valueOfUnknown.add(token.index + 1);
      problems.push(
        `unknown option ${token.rawName}${elsewhere.length > 0 ? ` (an option of ${elsewhere.join(', ')})` : command === undefined ? '' : ` for ${command}`}`,
      );
    } else if (known.type === 'string' && token.value === undefined) {
      problems.push(`${token.rawName} needs a value`);
    } else if (known.type === 'string' && !token.inlineValue && token.value?.startsWith('-')) {
      problems.push(`${token.rawName} needs a value, got the option ${token.value}`);
    } else if (known.type === 'boolean' && token.inlineValue) {
      problems.push(`${token.rawName} takes no value`);
    } else if (!known.multiple && seen.has(token.name)) {
      problems.push(`--${token.name} is given more than once`);
    }
    seen.add(token.name);
  }
  help ||= values['help'] === true;
  const args = tokens.filter((t) => t.kind === 'positional' && !valueOfUnknown.has(t.index)).map((t) => (t as { value: string }).value);
  if (spec && !help) {
    const required = spec.args.filter((a) => !a.startsWith('[')).length;
    if (args.length < required || args.length > spec.args.length) {
      problems.push(
        `${command} takes ${spec.args.length === 0 ? 'no arguments' : spec.args.join(' ')}, got ${args.length === 0 ? 'none' : args.map((p) => JSON.stringify(p)).join(' ')}`,
      );
    }
  }
  if (problems.length > 0) throw new UsageError(problems, command);
  return { command, help, positionals: args, options: values as CommandLine['options'] };
}

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(([name, o]) => [
    `${'short' in o && o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`,
    o.help,
  ]);
  const width = Math.max(...rows.map(([l]) => (l as string).length));
  return rows.map(([l, h]) => `  ${(l as string).padEnd(width)}  ${h}`);
}

/** Exit codes, for every usage text and the README. */
export const EXIT_CODES =
  'Exit codes: 0 done; 1 failed (the error says why; gc: some object could not be deleted; promote: the head moved meanwhile); 2 usage error (nothing was done).';

/** The usage of one command, or of the CLI. */
export function usage(command?: CommandName): string {
  if (command === undefined) {
    const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
    return [
      'Usage: zfs-clone <command> [options]        (as a kubectl plugin: kubectl zfs-clone <command> [options])',
      '',
      'Commands:',
      ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`),
      '',
      'Options of every command:',
      ...optionLines(GLOBAL_OPTIONS),
      '',
      "zfs-clone <command> --help shows a command's own options.",
      EXIT_CODES,
      '',
    ].join('\n');
  }
  const spec: CommandSpec = COMMANDS[command];
  return [
    `Usage: zfs-clone ${command}${spec.args.length > 0 ? ` ${spec.args.join(' ')}` : ''} [options]`,
    '',
    `${spec.summary[0]?.toUpperCase()}${spec.summary.slice(1)}.`,
    ...(Object.keys(spec.options).length > 0 ? ['', 'Options:', ...optionLines(spec.options)] : []),
    '',
    'Options of every command:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    EXIT_CODES,
    '',
  ].join('\n');
}
