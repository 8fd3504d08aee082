import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Whether the cluster in `dir` is up: marked ready and its kube-apiserver process (ours) alive. */
export function clusterRunning(dir: string): boolean {
  try {
    if (!existsSync(join(dir, 'ready'))) return false;
    const pid = readFileSync(join(dir, 'run', 'kube-apiserver.pid'), 'utf8').trim();
    return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${dir}/`);
  } catch {
    return false;
  }
}

/** An on/off environment variable: set and not empty, `0` or `false`. */
export function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}
