import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localTar, untarCommand } from './tar.js';

describe('localTar', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the whole archive for a reader that starts after tar has exited', async () => {
    dir = await mkdtemp(join(tmpdir(), 'zrh-tar-'));
    await writeFile(join(dir, 'a.txt'), 'x'.repeat(10_000));
    const tar = localTar(dir, ['a.txt']);
    await tar.done;
    await new Promise((r) => setTimeout(r, 100));
    let bytes = 0;
    for await (const chunk of tar.stream) bytes += (chunk as Buffer).length;
    expect(bytes).toBeGreaterThanOrEqual(10_240);
  });

  it('reports a path tar cannot read', async () => {
    dir = await mkdtemp(join(tmpdir(), 'zrh-tar-'));
    const tar = localTar(dir, ['missing.txt']);
    tar.stream.resume();
    await expect(tar.done).rejects.toThrow(/tar could not read missing\.txt/);
  });
});

describe('untarCommand', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function runUntar(target: string, input: Buffer) {
    const [cmd, ...args] = untarCommand(target);
    return spawnSync(cmd as string, args, { input, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  }

  it('extracts the archive into a new folder and consumes input after the archive', async () => {
    dir = await mkdtemp(join(tmpdir(), 'zrh-untar-'));
    await writeFile(join(dir, 'a.txt'), 'hello');
    const archive = spawnSync('tar', ['-cf', '-', '-C', dir, 'a.txt']).stdout;
    const result = runUntar(join(dir, 'out', 'deep'), Buffer.concat([archive, Buffer.alloc(1 << 20)]));
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(0);
    await expect(readFile(join(dir, 'out', 'deep', 'a.txt'), 'utf8')).resolves.toBe('hello');
  });

  it("reads all input even when tar fails, then exits with tar's status", async () => {
    dir = await mkdtemp(join(tmpdir(), 'zrh-untar-'));
    const result = runUntar(dir, Buffer.alloc(4 << 20, 'x'));
    expect(result.error).toBeUndefined();
    expect(result.status).not.toBe(0);
    expect(result.stderr.toString()).toMatch(/tar/);
  });
});

