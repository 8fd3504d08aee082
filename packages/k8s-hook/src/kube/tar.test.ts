import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localTar } from './tar.js';

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
