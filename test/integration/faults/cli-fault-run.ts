/**
 * The bundled `zfs-clone` CLI as its own process through the fault proxy (an operator's
 * kubeconfig whose server is the proxy), the requests each run made, and the verdict on a run.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FaultProxy } from '../../fault-proxy/proxy.js';
import type { RecordedRequest } from '../../fault-proxy/request-log.js';
import { isClear, type Verdict } from './fault-job.js';

export const CLI_BUNDLE = fileURLToPath(new URL('../../../packages/zfs-clone/dist/zfs-clone.cjs', import.meta.url));
/** A run still going after this long is killed and counted as hung. */
const RUN_LIMIT_MS = 150_000;

/** One run of the CLI. */
export interface CliRun {
  readonly argv: readonly string[];
  /** Exit code; null when it was killed. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly hung: boolean;
  readonly requests: readonly RecordedRequest[];
}

/**
 * Runs `node zfs-clone.cjs <argv> --kubeconfig <kubeconfig> -n <namespace>` without blocking the
 * event loop (the proxy lives in this process), recording the proxy's requests meanwhile.
 */
export async function runCli(proxy: FaultProxy, kubeconfig: string, namespace: string, argv: readonly string[]): Promise<CliRun> {
  if (!existsSync(CLI_BUNDLE)) throw new Error(`the CLI bundle ${CLI_BUNDLE} is missing: build it with \`pnpm --filter @zfs-runner-hooks/zfs-clone bundle\``);
  const mark = proxy.requests.length;
  const args = [CLI_BUNDLE, ...argv, '--kubeconfig', kubeconfig, '-n', namespace];
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string; hung: boolean }>((resolve) => {
    const child = execFile(
      process.execPath,
      args,
      {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' },
        timeout: RUN_LIMIT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 8 << 20,
      },
      (error, stdout, stderr) => {
        const killed = Boolean(error && (error as { killed?: boolean }).killed);
        resolve({ code: killed ? null : (child.exitCode ?? (error ? 1 : 0)), stdout, stderr, hung: killed });
      },
    );
  });
  return { argv, ...result, requests: proxy.requests.slice(mark) as RecordedRequest[] };
}

/**
 * The verdict on a CLI run: `answered` checks what it printed on success (undefined when right,
 * else what is wrong); `leak` what the cluster shows after it (undefined when nothing is wrong).
 */
export function judgeCliRun(run: CliRun, answered: string | undefined, leak: string | undefined): { readonly verdict: Verdict; readonly detail: string } {
  if (leak !== undefined) return { verdict: 'leaked', detail: leak };
  if (run.hung) return { verdict: 'failed unclearly', detail: `still running after ${RUN_LIMIT_MS / 1000} s, killed` };
  if (run.code === 0) return answered === undefined ? { verdict: 'completed', detail: '' } : { verdict: 'failed unclearly', detail: `exit 0, but ${answered}` };
  const said = run.stderr.trim();
  const clear = run.code === 1 && said.startsWith('error: ') && isClear(said);
  return { verdict: clear ? 'failed clearly' : 'failed unclearly', detail: `exit ${String(run.code)}: ${said || 'nothing on stderr'}` };
}
