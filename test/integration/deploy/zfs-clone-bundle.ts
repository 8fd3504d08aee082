import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** The one-file `zfs-clone` CLI (`pnpm --filter @zfs-runner-hooks/zfs-clone bundle`). */
export const ZFS_CLONE_BUNDLE = join(repoRoot, 'packages/zfs-clone/dist/zfs-clone.cjs');

/** Builds the CLI bundle when it is missing or older than a source of the CLI or the kube client. */
export function ensureZfsCloneBundle(): void {
  let built = 0;
  try {
    built = statSync(ZFS_CLONE_BUNDLE).mtimeMs;
  } catch {
    // not built yet
  }
  const newer = spawnSync('find', ['packages/zfs-clone/src', 'packages/kube/src', '-name', '*.ts', '-newermt', `@${Math.floor(built / 1000)}`], {
    cwd: repoRoot,
    encoding: 'utf8',
  }).stdout.trim();
  if (built > 0 && newer === '') return;
  const result = spawnSync('pnpm', ['--filter', '@zfs-runner-hooks/zfs-clone', 'bundle'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`building the zfs-clone bundle failed (exit ${String(result.status ?? result.signal)})`);
}
