import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HookError } from '../errors.js';
import { copyExternalLocally, ensureWorkDirs, removeStepFiles, writeEnvFile } from './local.js';
import { SharedDir } from './shared-dir.js';

let base: string;
let work: string;
/** A runner-side folder outside `_work` that a planted link points at. */
let outside: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'zrh-shared-dir-'));
  work = join(base, '_work');
  outside = join(base, 'home');
  await mkdir(join(work, '_temp'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(outside, 'keep.txt'), 'runner file');
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function outsideNames(): Promise<string[]> {
  return (await readdir(outside)).sort();
}

describe('writeEnvFile', () => {
  it('writes the env file into _work/_temp/_zrh, world-writable folder, 0644 file', async () => {
    const rel = await writeEnvFile(work, 'step1', 'A=1\n');
    expect(rel).toBe('_temp/_zrh/step1.env');
    expect(await readFile(join(work, rel), 'utf8')).toBe('A=1\n');
    expect((await stat(join(work, rel))).mode & 0o777).toBe(0o644);
    expect((await stat(join(work, '_temp/_zrh'))).mode & 0o777).toBe(0o777);
  });

  it.each([
    ['_temp/_zrh', '_zrh', join('_temp', '_zrh')],
    ['_temp', '_temp', '_temp'],
  ])('refuses a %s the job replaced by a link to a runner folder, and writes nothing there', async (_what, _name, rel) => {
    await rm(join(work, rel), { recursive: true, force: true });
    await symlink(outside, join(work, rel));
    const err = await writeEnvFile(work, 'step1', 'SECRET=1\n').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HookError);
    expect((err as HookError).code).toBe('WORKSPACE_UNSAFE');
    expect((err as HookError).message).toContain('is a symbolic link or not a folder');
    expect(await outsideNames()).toEqual(['keep.txt']);
    expect((await stat(outside)).mode & 0o777).not.toBe(0o777);
  });

  it('replaces a link planted at the env file name instead of writing through it', async () => {
    await mkdir(join(work, '_temp/_zrh'));
    await symlink(join(outside, 'keep.txt'), join(work, '_temp/_zrh/step1.env'));
    await writeEnvFile(work, 'step1', 'A=1\n');
    expect(await readFile(join(outside, 'keep.txt'), 'utf8')).toBe('runner file');
    expect((await lstat(join(work, '_temp/_zrh/step1.env'))).isFile()).toBe(true);
  });

  it('keeps writing into the folder it opened when the job swaps the path for a link meanwhile', async () => {
    const dir = await SharedDir.open(work, '_temp/_zrh', { create: true });
    try {
      await rename(join(work, '_temp/_zrh'), join(work, '_temp/_zrh-moved'));
      await symlink(outside, join(work, '_temp/_zrh'));
      await dir.writeNew('late.env', 'A=1\n');
    } finally {
      await dir.close();
    }
    expect(await outsideNames()).toEqual(['keep.txt']);
    expect(await readFile(join(work, '_temp/_zrh-moved/late.env'), 'utf8')).toBe('A=1\n');
  });
});

describe('removeStepFiles', () => {
  it('removes a planted link itself, never the file it points to', async () => {
    await mkdir(join(work, '_temp/_zrh'));
    await symlink(join(outside, 'keep.txt'), join(work, '_temp/_zrh/s.pid'));
    await removeStepFiles(work, 's');
    expect(await readFile(join(outside, 'keep.txt'), 'utf8')).toBe('runner file');
    await expect(lstat(join(work, '_temp/_zrh/s.pid'))).rejects.toThrow();
  });

  it('does nothing when _zrh is a link', async () => {
    await symlink(outside, join(work, '_temp/_zrh'));
    await writeFile(join(outside, 's.env'), 'x');
    await removeStepFiles(work, 's');
    expect(await outsideNames()).toEqual(['keep.txt', 's.env']);
  });
});

describe('ensureWorkDirs', () => {
  it('creates missing folders and refuses a link on the way', async () => {
    await ensureWorkDirs(work, ['_externals', '_temp/_github_home']);
    expect((await lstat(join(work, '_temp/_github_home'))).isDirectory()).toBe(true);
    await symlink(outside, join(work, '_temp/_github_workflow'));
    await expect(ensureWorkDirs(work, ['_temp/_github_workflow/x'])).rejects.toMatchObject({ code: 'WORKSPACE_UNSAFE' });
    expect(await outsideNames()).toEqual(['keep.txt']);
  });
});

describe('copyExternalLocally', () => {
  /** Larger than one read of a stream: every chunk must arrive, in order. */
  const big = Array.from({ length: 40_000 }, (_, i) => `${i}\n`).join('');
  let externals: string;
  beforeEach(async () => {
    externals = join(base, 'externals');
    await mkdir(join(externals, 'node20/bin'), { recursive: true });
    await writeFile(join(externals, 'node20/bin/node'), '#!/bin/sh\necho node\n', { mode: 0o755 });
    await writeFile(join(externals, 'node20/README.md'), 'readme');
    await writeFile(join(externals, 'node20/lib.js'), big);
    await symlink('node', join(externals, 'node20/bin/nodejs'));
  });

  it('copies files, modes and links into _work/_externals', async () => {
    await copyExternalLocally(externals, work, 'node20');
    const dest = join(work, '_externals/node20');
    expect(await readFile(join(dest, 'bin/node'), 'utf8')).toContain('echo node');
    expect((await stat(join(dest, 'bin/node'))).mode & 0o777).toBe(0o755);
    expect(await readlink(join(dest, 'bin/nodejs'))).toBe('node');
    expect(await readFile(join(dest, 'lib.js'), 'utf8')).toBe(big);
    expect(await readdir(join(work, '_externals'))).toEqual(['node20']);
  });

  it('refuses an _externals the job replaced by a link, and copies nothing there', async () => {
    await symlink(outside, join(work, '_externals'));
    await expect(copyExternalLocally(externals, work, 'node20')).rejects.toMatchObject({ code: 'WORKSPACE_UNSAFE' });
    expect(await outsideNames()).toEqual(['keep.txt']);
  });
});
