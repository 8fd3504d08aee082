import { describe, expect, it } from 'vitest';
import { parseCommandLine, usage, UsageError } from './args.js';

function problems(argv: string[]): readonly string[] {
  try {
    parseCommandLine(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).problems;
  }
  throw new Error(`${argv.join(' ')} parsed`);
}

describe('parseCommandLine', () => {
  it.each([
    [['gc', '--dry-run', 'gcc12'], 'gc', ['gcc12'], { 'dry-run': true }],
    [['-n', 'ci', 'status', 'gcc12'], 'status', ['gcc12'], { namespace: 'ci' }],
    [['--kubeconfig=/k', 'list', '--context', 'prod', '-o', 'json'], 'list', [], { kubeconfig: '/k', context: 'prod', output: 'json' }],
    [['seed', 'c', '--repository', 'a/b', '--repository', 'c/d', '--from-pvc', 'p'], 'seed', ['c'], { repository: ['a/b', 'c/d'], 'from-pvc': 'p' }],
  ])('parses %j', (argv, command, positionals, options) => {
    const line = parseCommandLine(argv);
    expect(line).toMatchObject({ command, help: false, positionals, options });
  });

  it('takes only the options of the command it parses', () => {
    expect(problems(['list', '--keep', '3'])).toEqual(['unknown option --keep (an option of gc)']);
    expect(problems(['status', 'x', '--frobnicate'])).toEqual(['unknown option --frobnicate for status']);
  });

  it('reports every problem at once', () => {
    expect(problems(['gc', 'a', 'b', '--keep', '--bogus', '--dry-run=yes', '--grace', '1', '--grace', '2'])).toEqual([
      '--keep needs a value, got the option --bogus',
      '--dry-run takes no value',
      '--grace is given more than once',
      'gc takes [<cache>], got "a" "b"',
    ]);
  });

  it('names the missing value of an option at the end', () => {
    expect(problems(['promote', 'a', 'b', '--expect-generation'])).toEqual(['--expect-generation needs a value']);
  });

  it('lists the commands for an unknown one', () => {
    expect(problems(['frobnicate'])).toEqual(['unknown command "frobnicate" (commands: list, status, seed, promote, rollback, gc)']);
  });

  it.each([[['gc', '--help']], [['help', 'gc']], [['-h', 'gc']]])('asks for the help of a command with %j', (argv) => {
    expect(parseCommandLine(argv)).toMatchObject({ command: 'gc', help: true });
  });

  it('does not read a global option value as the command', () => {
    expect(parseCommandLine(['-n', 'list', 'status', 'gcc12'])).toMatchObject({ command: 'status', options: { namespace: 'list' } });
  });
});

describe('usage', () => {
  it("lists a command's own options with the global ones and the exit codes", () => {
    const text = usage('gc');
    expect(text).toMatch(/^Usage: zfs-clone gc \[<cache>\] \[options\]\n/);
    expect(text).toContain('      --dry-run                print the plan, delete nothing\n');
    expect(text).toContain('-o, --output table|json|yaml');
    expect(text).toContain('    --context <name>');
    expect(text).toContain('Exit codes: 0 done; 1 failed');
    expect(text).not.toContain('--from-pvc');
  });

  it('names every command and the kubectl plugin form', () => {
    const text = usage();
    for (const c of ['list', 'status', 'seed', 'promote', 'rollback', 'gc']) expect(text).toMatch(new RegExp(`\\n  ${c} +\\S`));
    expect(text).toContain('kubectl zfs-clone <command> [options]');
  });
});
