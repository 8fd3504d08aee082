import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeArgs, renderEnvFile, scriptStepCommand } from './env-file.js';

const tricky: Record<string, string> = {
  QUOTES: `it's "quoted" \\ back\\slash`,
  DOLLAR: '$HOME $(id) `id` ${X:-y}',
  NEWLINES: 'line1\nline2\n\nline4\n',
  UNICODE: 'grüße 🚀 日本',
  EMPTY: '',
  SPACES: '  lead and trail  ',
  GLOB: '* ? [a]',
};

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** Runs the loader with the local /bin/sh, as the job container would. */
function runLoader(env: Record<string, string>, prependPath: string[], entryPoint: string, args: string[]): { stdout: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'zrh-env-'));
  scratch.push(dir);
  const envFile = join(dir, 'step.env');
  writeFileSync(envFile, renderEnvFile(env, prependPath).text);
  const [cmd, ...rest] = scriptStepCommand({ untarDir: undefined, envFile, pidFile: join(dir, 'step.pid'), workingDirectory: dir, entryPoint, args });
  const stdout = execFileSync(cmd as string, rest, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, encoding: 'utf8' });
  return { stdout, dir };
}

describe('renderEnvFile + STEP_LOADER', () => {
  it('delivers every value byte for byte', () => {
    const script = `for n in ${Object.keys(tricky).join(' ')}; do eval "printf '%s\\0' \\"\\$$n\\""; done`;
    const { stdout } = runLoader(tricky, [], 'sh', ['-c', script]);
    expect(stdout.split('\0').slice(0, -1)).toEqual(Object.values(tricky));
  });

  it('passes arguments without re-parsing them and runs in the working directory', () => {
    const { stdout, dir } = runLoader({}, [], 'sh', ['-c', 'printf "%s|" "$@"; pwd', 'sh', 'a b', '$x', '"q"']);
    expect(stdout).toBe(`a b|$x|"q"|${dir}\n`);
  });

  it('prepends paths, most recent first, and empties the env file and records the pid', () => {
    const { stdout, dir } = runLoader({ SECRET: 's3cret' }, ['/opt/new/bin', '/opt/old/bin'], 'sh', ['-c', 'echo "$PATH"']);
    expect(stdout.startsWith('/opt/new/bin:/opt/old/bin:')).toBe(true);
    expect(readFileSync(join(dir, 'step.env'), 'utf8')).toBe('');
    expect(Number(readFileSync(join(dir, 'step.pid'), 'utf8'))).toBeGreaterThan(1);
  });

  it('passes the step exit code through', () => {
    expect(() => runLoader({}, [], 'sh', ['-c', 'exit 7'])).toThrowError(expect.objectContaining({ status: 7 }));
  });

  it('passes names a shell cannot export (hyphenated action inputs) through env, in order', () => {
    const env = { 'INPUT_FETCH-DEPTH': "0 'x'\ny", ok_1: '2', '1X': '$3', 'INPUT_WHO-TO-GREET': 'Mona' };
    // The step is run directly (as a JavaScript action's node is): dash would drop such names itself.
    const { stdout } = runLoader(env, [], 'env', ['-0']);
    const seen = new Map(stdout.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    for (const [k, v] of Object.entries(env)) expect(seen.get(k)).toBe(v);
    expect([...seen.keys()].some((k) => k.startsWith('__zrh'))).toBe(false);
  });

  it('reports names no environment can carry', () => {
    expect(renderEnvFile({ 'A=B': '1', ok_1: '2', '': '3' }, []).skipped).toEqual(['A=B', '']);
  });
});

describe('normalizeArgs', () => {
  it.each([
    [['"/__w/_actions/o/r/v1/dist/index.js"'], ['/__w/_actions/o/r/v1/dist/index.js']],
    [['--noprofile', '', '-e', '/__w/_temp/x.sh'], ['--noprofile', '-e', '/__w/_temp/x.sh']],
    [['"'], ['"']],
    [['""'], []],
    [['a"b"'], ['a"b"']],
  ])('%j → %j', (args, out) => expect(normalizeArgs(args)).toEqual(out));
});
