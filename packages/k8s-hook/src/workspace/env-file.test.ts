import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStepCommand, normalizeArgs, renderEnvFile, scriptStepCommand, stepProcessesCommand } from './env-file.js';

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
    const seen = new Map(
      stdout
        .split('\0')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    for (const [k, v] of Object.entries(env)) expect(seen.get(k)).toBe(v);
    expect([...seen.keys()].some((k) => k.startsWith('__zrh'))).toBe(false);
  });

  it('reports names no environment can carry', () => {
    expect(renderEnvFile({ 'A=B': '1', ok_1: '2', '': '3' }, []).skipped).toEqual(['A=B', '']);
  });
});

describe('STEP_KILLER', () => {
  /**
   * Runs the killer with the local /bin/sh.
   * `dryRun` puts a shell function in front of the `kill` builtin that prints what it was asked.
   */
  function kill(pidText: string | undefined, signal: 'TERM' | 'KILL' = 'TERM', dryRun = false) {
    const dir = mkdtempSync(join(tmpdir(), 'zrh-kill-'));
    scratch.push(dir);
    const pidFile = join(dir, 'step.pid');
    if (pidText !== undefined) writeFileSync(pidFile, pidText);
    const [cmd, flag, script, ...rest] = killStepCommand(pidFile, signal);
    const body = dryRun ? `kill() { echo "kill $*"; return 1; }\n${script ?? ''}` : (script ?? '');
    return spawnSync(cmd as string, [flag as string, body, ...rest], { encoding: 'utf8' });
  }

  it('stops the process group the pid file names', async () => {
    const victim = spawn('sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => victim.on('exit', (_code, signal) => resolve(signal)));
    const r = kill(String(victim.pid));
    expect(r.status).toBe(0);
    expect(await exited).toBe('SIGTERM');
  });

  it.each(['0', '-1', '1', '00', '0 1', '12abc', '$(id)', '', '-0', '1\n2', '99999999999999999999'])(
    'never calls kill for a pid file a hostile job wrote: %j',
    (text) => {
      // Unchecked, `0` signals the killer's own process group and `-1` every process it may signal.
      const r = kill(text, 'KILL', true);
      expect({ status: r.status, stdout: r.stdout, signal: r.signal }).toEqual({ status: 0, stdout: '', signal: null });
    },
  );

  it('calls kill for a pid (the dry run can see it)', () => {
    expect(kill('4242', 'TERM', true).stdout).toBe('kill -TERM -4242\nkill -TERM 4242\n');
  });

  it('does nothing when there is no pid file', () => {
    expect(kill(undefined).status).toBe(0);
  });
});

describe('STEP_PROCESSES', () => {
  /** Runs the lister with the local /bin/sh and this machine's /proc, as the job container would. */
  function processes(pidText: string) {
    const dir = mkdtempSync(join(tmpdir(), 'zrh-ps-'));
    scratch.push(dir);
    const pidFile = join(dir, 'step.pid');
    writeFileSync(pidFile, pidText);
    const [cmd, ...rest] = stepProcessesCommand(pidFile);
    return spawnSync(cmd as string, rest, { encoding: 'utf8' });
  }
  const processGroupOf = (pid: string) =>
    readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ')[2];

  it.each(['1', '0', '-1', '00', '01', '1 2', '1\n2', 'init', '$(id)', '', '99999999999999999999'])(
    'lists nothing for a pid file a hostile job wrote: %j',
    (text) => {
      // Unchecked, `1` lists the container's init and `0` the kernel's threads (process group 0):
      // after a lost exec the hook would report them as the step, still running after SIGKILL.
      const r = processes(text);
      expect({ status: r.status, stdout: r.stdout, signal: r.signal }).toEqual({ status: 0, stdout: '', signal: null });
    },
  );

  it('lists the live processes of the process group a real pid file names', async () => {
    const step = spawn('sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    const pid = String(step.pid);
    try {
      let listed: string[] = [];
      for (let i = 0; i < 100 && listed.length < 2; i++) {
        listed = processes(`${pid}\n`).stdout.split('\n').filter(Boolean);
        if (listed.length < 2) await new Promise((r) => setTimeout(r, 20));
      }
      // The shell and its sleep, both in the step's process group.
      expect(listed).toHaveLength(2);
      expect(listed).toContain(pid);
      expect(listed.map(processGroupOf)).toEqual([pid, pid]);
    } finally {
      process.kill(-Number(pid), 'SIGKILL');
    }
  });
});

describe('normalizeArgs', () => {
  it.each([
    [['"/__w/_actions/o/r/v1/dist/index.js"'], ['/__w/_actions/o/r/v1/dist/index.js']],
    [
      ['--noprofile', '', '-e', '/__w/_temp/x.sh'],
      ['--noprofile', '-e', '/__w/_temp/x.sh'],
    ],
    [['"'], ['"']],
    [['""'], []],
    [['a"b"'], ['a"b"']],
  ])('%j → %j', (args, out) => expect(normalizeArgs(args)).toEqual(out));
});
