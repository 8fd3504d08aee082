import { describe, expect, it } from 'vitest';
import { flushClone, flushCommand, isUnknownOptionError, type CommandResult } from './flush.js';

/** A job container whose commands answer from `answers` (by the command line), recording what ran. */
function container(answers: Record<string, CommandResult>) {
  const ran: string[] = [];
  const run = async (command: readonly string[]) => {
    const line = command.join(' ');
    ran.push(line);
    const answer = answers[line];
    if (!answer) throw new Error(`unexpected command ${line}`);
    return answer;
  };
  return { ran, run };
}

const ok: CommandResult = { exitCode: 0, stderr: '' };

describe('flushCommand', () => {
  it("flushes only the clone's file system when the mount path is known", () => {
    expect(flushCommand('/CONAN_HOME')).toEqual(['sync', '-f', '/CONAN_HOME']);
  });

  it('falls back to a global sync for a state without a mount path', () => {
    expect(flushCommand(undefined)).toEqual(['sync']);
  });
});

describe('isUnknownOptionError', () => {
  it.each([
    ['coreutils before 8.24 (glibc getopt)', "sync: invalid option -- 'f'\nTry 'sync --help' for more information.\n"],
    ['musl getopt', 'sync: unrecognized option: f\n'],
    ['toybox', 'sync: Unknown option \'f\' (see "sync --help")\n'],
    ['BSD', 'sync: illegal option -- f\nusage: sync\n'],
  ])('recognises %s', (_name, stderr) => {
    expect(isUnknownOptionError(stderr)).toBe(true);
  });

  it.each([
    ['an I/O error', "sync: error syncing '/CONAN_HOME': Input/output error\n"],
    ['an invalid argument from syncfs', "sync: error syncing '/CONAN_HOME': Invalid argument\n"],
    ['a missing mount path', "sync: error opening '/CONAN_HOME': No such file or directory\n"],
    ['no output at all', ''],
  ])('does not take %s for a missing option', (_name, stderr) => {
    expect(isUnknownOptionError(stderr)).toBe(false);
  });
});

describe('flushClone', () => {
  it('runs `sync -f <mount path>` once when sync knows -f', async () => {
    const c = container({ 'sync -f /CONAN_HOME': ok });
    expect(await flushClone(c.run, '/CONAN_HOME')).toEqual({ commands: [['sync', '-f', '/CONAN_HOME']], fellBack: false });
    expect(c.ran).toEqual(['sync -f /CONAN_HOME']);
  });

  it('runs a plain `sync` when the state has no mount path', async () => {
    const c = container({ sync: ok });
    expect(await flushClone(c.run, undefined)).toMatchObject({ fellBack: false });
    expect(c.ran).toEqual(['sync']);
  });

  it('falls back to a plain `sync` when sync does not know -f', async () => {
    const c = container({ 'sync -f /CONAN_HOME': { exitCode: 1, stderr: "sync: invalid option -- 'f'\nTry 'sync --help' for more information.\n" }, sync: ok });
    expect(await flushClone(c.run, '/CONAN_HOME')).toEqual({ commands: [['sync', '-f', '/CONAN_HOME'], ['sync']], fellBack: true });
    expect(c.ran).toEqual(['sync -f /CONAN_HOME', 'sync']);
  });

  it('fails on a real error of `sync -f`, without hiding it behind a global sync', async () => {
    const c = container({ 'sync -f /CONAN_HOME': { exitCode: 1, stderr: "sync: error syncing '/CONAN_HOME': Input/output error\n" }, sync: ok });
    await expect(flushClone(c.run, '/CONAN_HOME')).rejects.toThrow(
      "`sync -f /CONAN_HOME` exited with 1 in the job container: sync: error syncing '/CONAN_HOME': Input/output error",
    );
    expect(c.ran).toEqual(['sync -f /CONAN_HOME']);
  });

  it('fails on a non-zero exit without output (e.g. no sync in the image)', async () => {
    const c = container({ 'sync -f /CONAN_HOME': { exitCode: 127, stderr: '' } });
    await expect(flushClone(c.run, '/CONAN_HOME')).rejects.toThrow('`sync -f /CONAN_HOME` exited with 127 in the job container');
  });

  it('fails when the fallback `sync` fails too', async () => {
    const c = container({ 'sync -f /CONAN_HOME': { exitCode: 1, stderr: 'sync: unrecognized option: f\n' }, sync: { exitCode: 2, stderr: 'sync: broken\n' } });
    await expect(flushClone(c.run, '/CONAN_HOME')).rejects.toThrow(
      '`sync` exited with 2 in the job container: sync: broken (after `sync -f /CONAN_HOME`: sync: unrecognized option: f)',
    );
  });

  it('fails when a plain `sync` fails', async () => {
    const c = container({ sync: { exitCode: 1, stderr: '' } });
    await expect(flushClone(c.run, undefined)).rejects.toThrow('`sync` exited with 1 in the job container');
  });

  it('passes on a failure to run the command at all', async () => {
    const run = async () => {
      throw new Error('the exec stream failed');
    };
    await expect(flushClone(run, '/CONAN_HOME')).rejects.toThrow('the exec stream failed');
  });
});
