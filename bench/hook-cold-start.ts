/**
 * Benchmark: the hook process's cold start — load the bundle, parse and validate stdin and the
 * environment, read the kubeconfig, make the first API calls — against a bare `node -e 0`.
 * The hook runs `cleanup_job` with `state: null` (what the runner sends after a failed
 * prepare_job: two label-selected lists and a response file) against the bench cluster's real
 * API server, as ServiceAccount `hook` with deploy/rbac/hook-role.yaml.
 *
 *   pnpm exec tsx --conditions=source bench/hook-cold-start.ts [runs]      (default 20 runs)
 *
 * Also the path beyond the fast one (ADR 0018): the same call with a kubeconfig whose user is an
 * exec credential plugin (a shell script printing the ServiceAccount token as an ExecCredential),
 * which loads @kubernetes/client-node from the bundle's second block.
 *
 * Prints medians, the ratio, peak RSS and the bundle size. Asserts nothing.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupJobInput, serializeHookInput } from '../test/simulator/stdin.js';
import { createBenchNamespace, HOOK_BUNDLE, requireBundle, startBenchCluster } from './lib/cluster.js';
import { formatApiRequests, parseApiRequests, resourceUsage, timeProcess, type ProcessSpec } from './lib/process.js';
import { heading, note, report, runBench } from './lib/report.js';
import { max, median, mib, min, ms, ratio, summary } from './lib/stats.js';

const BENCH = 'hook-cold-start';
const runs = Math.min(Math.max(Number(process.argv[2] ?? 20) || 20, 3), 200);
const WARMUP = 3;
const RUSAGE_RUNS = Math.min(runs, 10);

async function main(): Promise<void> {
  requireBundle();
  const node = process.execPath;
  heading(`Hook cold start (${runs} runs each, interleaved, after ${WARMUP} warm-up runs)`);
  const cluster = await startBenchCluster('any');
  const ns = await createBenchNamespace(cluster, 'bench-cold');
  const scratch = mkdtempSync(join(tmpdir(), 'zrh-bench-cold-'));
  try {
    const responseFile = join(scratch, 'response.json');
    const env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: scratch,
      KUBECONFIG: ns.hookKubeconfig,
      ACTIONS_RUNNER_POD_NAME: 'runner-cold-start',
      ACTIONS_RUNNER_KUBERNETES_NAMESPACE: ns.name,
      // The loader's compiled-code cache starts empty here; the first (debug) run writes it.
      ZRH_CODE_CACHE_DIR: join(scratch, 'code-cache'),
    };
    const hook = (extraEnv: Record<string, string> = {}): ProcessSpec => {
      writeFileSync(responseFile, '');
      return {
        command: node,
        args: [HOOK_BUNDLE],
        env: { ...env, ...extraEnv },
        cwd: scratch,
        stdin: serializeHookInput(cleanupJobInput(responseFile, null)),
        timeoutMs: 30_000,
      };
    };
    const bare: ProcessSpec = { command: node, args: ['-e', '0'], env, cwd: scratch };
    // The same identity through an exec credential plugin: the fast path hands it to client-node.
    const pluginKubeconfig = execPluginKubeconfig(ns.hookKubeconfig, scratch);
    // Validation only: a stdin the schema rejects ends the hook before any API call.
    const noApi: ProcessSpec = { command: node, args: [HOOK_BUNDLE], env, cwd: scratch, stdin: '{"command":"cleanup_job"}\n' };

    const first = await timeProcess(hook({ ZRH_LOG_LEVEL: 'debug' }));
    if (first.exitCode !== 0) throw new Error(`the hook's cleanup_job failed (exit ${String(first.exitCode)}):\n${first.stdout}${first.stderr}`);
    const requests = parseApiRequests(first.stdout + first.stderr);

    for (let i = 0; i < WARMUP; i++) {
      await timeProcess(bare);
      await timeProcess(hook());
      await timeProcess(noApi);
    }
    const bareMs: number[] = [];
    const hookMs: number[] = [];
    const noCacheMs: number[] = [];
    const noApiMs: number[] = [];
    const pluginMs: number[] = [];
    const firstPlugin = await timeProcess(hook({ KUBECONFIG: pluginKubeconfig }));
    if (firstPlugin.exitCode !== 0)
      throw new Error(`the hook with an exec plugin kubeconfig failed (exit ${String(firstPlugin.exitCode)}):\n${firstPlugin.stdout}${firstPlugin.stderr}`);
    for (let i = 0; i < runs; i++) {
      bareMs.push((await timeProcess(bare)).wallMs);
      const h = await timeProcess(hook());
      if (h.exitCode !== 0) throw new Error(`the hook failed in run ${i + 1} (exit ${String(h.exitCode)}): ${h.stdout}${h.stderr}`);
      hookMs.push(h.wallMs);
      const n = await timeProcess(hook({ ZRH_CODE_CACHE_DIR: 'off' }));
      if (n.exitCode !== 0) throw new Error(`the hook without code cache failed in run ${i + 1} (exit ${String(n.exitCode)}): ${n.stdout}${n.stderr}`);
      noCacheMs.push(n.wallMs);
      const v = await timeProcess(noApi);
      if (v.exitCode === 0) throw new Error('the hook accepted an invalid stdin');
      noApiMs.push(v.wallMs);
      const p = await timeProcess(hook({ KUBECONFIG: pluginKubeconfig }));
      if (p.exitCode !== 0)
        throw new Error(`the hook with an exec plugin kubeconfig failed in run ${i + 1} (exit ${String(p.exitCode)}): ${p.stdout}${p.stderr}`);
      pluginMs.push(p.wallMs);
    }
    const bareUse = [];
    const hookUse = [];
    const noCacheUse = [];
    for (let i = 0; i < RUSAGE_RUNS; i++) {
      bareUse.push(await resourceUsage(bare));
      const h = await resourceUsage(hook());
      if (h.exitCode !== 0) throw new Error(`the hook failed under /usr/bin/time (exit ${String(h.exitCode)})`);
      hookUse.push(h);
      noCacheUse.push(await resourceUsage(hook({ ZRH_CODE_CACHE_DIR: 'off' })));
    }
    const bareRss = bareUse.map((u) => u.maxRssKiB);
    const hookRss = [...hookUse, ...noCacheUse].map((u) => u.maxRssKiB);
    const bareCpu = bareUse.map((u) => u.cpuMs);
    const hookCpu = hookUse.map((u) => u.cpuMs);

    note(`node ${process.version} (${node}); bundle ${HOOK_BUNDLE}`);
    note(`node -e 0:                          ${summary(bareMs)}`);
    note(`hook, stdin rejected (no API call): ${summary(noApiMs)}`);
    note(`hook cleanup_job, state null:       ${summary(hookMs)}`);
    note(`the same without code cache:        ${summary(noCacheMs)}`);
    note(`the same, exec credential plugin:   ${summary(pluginMs)}`);
    note(
      `CPU time (user+sys, 10 ms ticks): node -e 0 median ${ms(median(bareCpu))}, hook median ${ms(median(hookCpu))}, without code cache ${ms(median(noCacheUse.map((u) => u.cpuMs)))} (n=${RUSAGE_RUNS})`,
    );
    const rNoCache = median(noCacheMs) / median(bareMs);
    const r = median(hookMs) / median(bareMs);
    const rMin = min(hookMs) / min(bareMs);
    const rCpu = median(hookCpu) / median(bareCpu);
    report({ bench: BENCH, figure: 'node -e 0, median wall', value: ms(median(bareMs)), target: '', ok: null });
    report({ bench: BENCH, figure: 'hook load+validate (no API), median wall', value: ms(median(noApiMs)), target: '', ok: null });
    report({ bench: BENCH, figure: 'hook cold start (cleanup_job, state null), median wall', value: ms(median(hookMs)), target: '', ok: null });
    report({ bench: BENCH, figure: 'cold start ratio hook / node -e 0 (medians)', value: ratio(r), target: '≤ 2.5×', ok: r <= 2.5 });
    report({ bench: BENCH, figure: 'cold start ratio, fastest runs (min / min)', value: ratio(rMin), target: '≤ 2.5×', ok: rMin <= 2.5 });
    report({ bench: BENCH, figure: 'cold start ratio, CPU time (user+sys medians)', value: ratio(rCpu), target: '', ok: null });
    report({
      bench: BENCH,
      figure: 'first call of a runner pod (no code cache yet) / node -e 0, medians',
      value: `${ratio(rNoCache)} (${ms(median(noCacheMs))})`,
      target: '≤ 2.5×',
      ok: rNoCache <= 2.5,
    });
    const rPlugin = median(pluginMs) / median(bareMs);
    report({
      bench: BENCH,
      figure: 'cleanup_job with an exec credential plugin kubeconfig (loads @kubernetes/client-node) / node -e 0, medians',
      value: `${ratio(rPlugin)} (${ms(median(pluginMs))})`,
      target: '',
      ok: null,
    });
    report({
      bench: BENCH,
      figure: `hook peak RSS (max of ${RUSAGE_RUNS})`,
      value: `${mib(max(hookRss))} (node -e 0: ${mib(max(bareRss))})`,
      target: '≤ 70 MiB',
      ok: max(hookRss) <= 70 * 1024,
    });
    const size = statSync(HOOK_BUNDLE).size;
    report({ bench: BENCH, figure: 'bundle size (dist/index.js)', value: `${(size / 1024 / 1024).toFixed(2)} MB (${size} bytes)`, target: '', ok: null });
    if (requests) report({ bench: BENCH, figure: 'API requests of cleanup_job (state null)', value: formatApiRequests(requests), target: '', ok: null });
    note("upstream for comparison (measured on this project's reference machine): 0.8.1 takes 5.8× (0.33 s, 148 MiB, 17 MB bundle); 0.7.0 0.26 s, 94 MiB");
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await ns.delete();
    await cluster.stop();
  }
}

/**
 * A copy of `kubeconfig` (as test/cluster/sa-kubeconfig.sh writes it) whose user gets its token
 * from an exec credential plugin: a shell script that prints it as an `ExecCredential`.
 */
function execPluginKubeconfig(kubeconfig: string, dir: string): string {
  const text = readFileSync(kubeconfig, 'utf8');
  const m = /^(\s+)token: (\S+)$/m.exec(text);
  if (!m) throw new Error(`${kubeconfig} has no token line to turn into an exec plugin`);
  const [line, indent = '', token = ''] = m;
  const plugin = join(dir, 'token-plugin.sh');
  const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token } });
  writeFileSync(plugin, `#!/bin/sh\nprintf '%s' '${credential}'\n`, { mode: 0o700 });
  chmodSync(plugin, 0o700);
  const exec = [
    `${indent}exec:`,
    `${indent}  apiVersion: client.authentication.k8s.io/v1`,
    `${indent}  command: ${plugin}`,
    `${indent}  interactiveMode: Never`,
  ].join('\n');
  const out = join(dir, 'plugin.kubeconfig');
  writeFileSync(out, text.replace(line, exec), { mode: 0o600 });
  return out;
}

runBench(BENCH, main);
