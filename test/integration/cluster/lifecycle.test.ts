import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// A second, separate cluster (own state dir and ports) so that up/down/crash recovery can be
// exercised without touching the shared cluster the other test files use.
const scripts = fileURLToPath(new URL('../../cluster/', import.meta.url));
const dir = `/tmp/zrh-cluster-lifecycle-${process.pid}`;
const env = {
  ...process.env,
  ZRH_CLUSTER_DIR: dir,
  ZRH_CLUSTER_PORT_BASE: String(freePortBase()),
  ZRH_KWOK_NODES: '1',
};

/** TCP ports something listens on (from /proc/net/tcp{,6}). */
function listeningPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === '0A' && local) ports.add(Number.parseInt(local.split(':').pop() ?? '', 16));
    }
  }
  return ports;
}

/** First port base from 17400 (step 100) whose cluster ports (see lib.sh) are all free. */
function freePortBase(): number {
  const taken = listeningPorts();
  for (let base = 17400; base < 20000; base += 100) {
    if ([43, 47, 57, 59, 79, 80].every((offset) => !taken.has(base + offset))) return base;
  }
  throw new Error('no free port base between 17400 and 20000 for the lifecycle cluster');
}

function run(script: string): { status: number | null; ms: number; stderr: string } {
  const started = Date.now();
  const r = spawnSync('bash', [join(scripts, script)], { env, encoding: 'utf8' });
  return { status: r.status, ms: Date.now() - started, stderr: r.stderr };
}

function pids(): Map<string, number> {
  const result = new Map<string, number>();
  const runDir = join(dir, 'run');
  if (!existsSync(runDir)) return result;
  for (const f of readdirSync(runDir)) {
    if (f.endsWith('.pid')) result.set(f.slice(0, -4), Number(readFileSync(join(runDir, f), 'utf8').trim()));
  }
  return result;
}

function alive(pid: number): boolean {
  // A zombie (exited, not yet reaped) is not alive.
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function mountsUnder(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((m) => m === path || m.startsWith(`${path}/`));
}

describe('local cluster: up and down', () => {
  afterAll(() => {
    if (existsSync(dir)) run('down.sh');
  });

  it('starts a healthy cluster with every process recorded in a pidfile', () => {
    const up = run('up.sh');
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toContain('cluster ready');
    const started = pids();
    expect([...started.keys()].sort()).toEqual(
      [
        'csi-hostpath',
        'csi-provisioner',
        'csi-provisioner-zfslike',
        'csi-snapshotter',
        'csi-snapshotter-zfslike',
        'csi-zfslike',
        'etcd',
        'kube-apiserver',
        'kube-controller-manager',
        'kube-scheduler',
        'kwok',
        'snapshot-controller',
      ].sort(),
    );
    for (const [name, pid] of started) expect(alive(pid), `${name} (pid ${pid})`).toBe(true);
  });

  it('returns quickly when the cluster is already healthy', () => {
    const before = pids();
    const up = run('up.sh');
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toContain('already up and healthy');
    expect(up.ms).toBeLessThan(10_000);
    expect(pids()).toEqual(before);
  });

  it('recovers from a crashed run: stale processes are stopped and the cluster restarted', () => {
    const before = pids();
    const apiserver = before.get('kube-apiserver');
    expect(apiserver).toBeDefined();
    process.kill(apiserver ?? 0, 'SIGKILL');

    const up = run('up.sh');
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toContain('cleaning up previous state');
    for (const [name, pid] of before) expect(alive(pid), `old ${name} (pid ${pid})`).toBe(false);
    for (const [name, pid] of pids()) expect(alive(pid), `new ${name} (pid ${pid})`).toBe(true);
  });

  it('down stops every process, unmounts everything below the state dir and removes it', () => {
    // A mount below the state dir, like a kubelet's volume mount would be.
    const source = join(dir, 'csi-hostpath');
    const target = join(dir, 'mnt', 'volume');
    mkdirSync(target, { recursive: true });
    execFileSync('mount', ['--bind', source, target]);
    expect(mountsUnder(dir)).toContain(target);
    const started = pids();

    const down = run('down.sh');
    expect(down.status, down.stderr).toBe(0);
    for (const [name, pid] of started) expect(alive(pid), `${name} (pid ${pid})`).toBe(false);
    expect(mountsUnder(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});
