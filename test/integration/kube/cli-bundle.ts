/** The bundled `zfs-clone` CLI as operators install it (one file), built for the tests when stale. */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
export const CLI = join(repoRoot, 'packages/zfs-clone/dist/zfs-clone.cjs');

/** Builds the CLI bundle when it is missing or older than a source of the CLI or the kube client. */
export function ensureCliBundle(): void {
  const built = (() => {
    try {
      return statSync(CLI).mtimeMs;
    } catch {
      return 0;
    }
  })();
  const newest = spawnSync('find', ['packages/zfs-clone/src', 'packages/kube/src', '-name', '*.ts', '-newermt', `@${Math.floor(built / 1000)}`], {
    cwd: repoRoot,
    encoding: 'utf8',
  }).stdout.trim();
  if (built > 0 && newest === '') return;
  const result = spawnSync('pnpm', ['--filter', '@zfs-runner-hooks/zfs-clone', 'bundle'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`building the zfs-clone bundle failed (exit ${String(result.status ?? result.signal)})`);
}
