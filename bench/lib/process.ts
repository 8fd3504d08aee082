import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A process to time. */
export interface ProcessSpec {
  readonly command: string;
  readonly args: readonly string[];
  /** The complete environment (nothing inherited). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Written to stdin, which is then closed. */
  readonly stdin?: string;
  /** Killed (SIGKILL) after this long. @default 60_000 */
  readonly timeoutMs?: number;
}

/** How a timed process ended. */
export interface TimedProcess {
  /** From just before spawn until the process exited and its output closed. */
  readonly wallMs: number;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a process to the end and measures its wall time. */
export function timeProcess(spec: ProcessSpec): Promise<TimedProcess> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(spec.command, [...spec.args], {
      env: spec.env ? { ...spec.env } : {},
      ...(spec.cwd ? { cwd: spec.cwd } : {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdin.on('error', () => undefined);
    child.stdin.end(spec.stdin ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), spec.timeoutMs ?? 60_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ wallMs: performance.now() - started, exitCode, stdout, stderr });
    });
  });
}

/** What the kernel accounted for a finished process (GNU time: `%M %U %S`). */
export interface ResourceUsage {
  /** Peak resident set size, KiB (`ru_maxrss`, i.e. `VmHWM` at exit). */
  readonly maxRssKiB: number;
  /** User + system CPU time, ms (10 ms resolution). */
  readonly cpuMs: number;
  readonly exitCode: number | null;
}

/** Runs a process under `/usr/bin/time` and returns its peak RSS and CPU time. */
export async function resourceUsage(spec: ProcessSpec): Promise<ResourceUsage> {
  const dir = mkdtempSync(join(tmpdir(), 'zrh-bench-rusage-'));
  const out = join(dir, 'rusage');
  try {
    const run = await timeProcess({ ...spec, command: '/usr/bin/time', args: ['-f', '%M %U %S', '-o', out, spec.command, ...spec.args] });
    const [rss, user, sys] = (readFileSync(out, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
    return { maxRssKiB: rss ?? Number.NaN, cpuMs: ((user ?? Number.NaN) + (sys ?? Number.NaN)) * 1000, exitCode: run.exitCode };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** API requests one hook call made, from its debug line `API requests: N {"VERB resource": n, …}`. */
export interface ApiRequests {
  readonly total: number;
  readonly byKind: Readonly<Record<string, number>>;
}

/** Parses the hook's `API requests:` debug line from its output; undefined when absent. */
export function parseApiRequests(output: string): ApiRequests | undefined {
  const match = /API requests: (\d+) (\{.*\})/.exec(output);
  if (!match) return undefined;
  return { total: Number(match[1]), byKind: JSON.parse(match[2] as string) as Record<string, number> };
}

/** Adds request counts. */
export function addApiRequests(parts: readonly (ApiRequests | undefined)[]): ApiRequests {
  const byKind: Record<string, number> = {};
  let total = 0;
  for (const p of parts) {
    if (!p) continue;
    total += p.total;
    for (const [k, n] of Object.entries(p.byKind)) byKind[k] = (byKind[k] ?? 0) + n;
  }
  return { total, byKind };
}

/** `12 (GET pods 1, POST pods 1, WATCH pods 1, …)`. */
export function formatApiRequests(r: ApiRequests): string {
  const kinds = Object.entries(r.byKind).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
  return `${r.total}${kinds.length ? ` (${kinds.join(', ')})` : ''}`;
}
