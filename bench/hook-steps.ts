/**
 * Benchmark on the real node (kubelet + containerd): in both workspace modes (volume: the
 * runner's work claim mounted into the job pod; copy: no shared volume, files go over exec)
 *  - prepare_job's overhead over the job pod's own create→Ready time (an admin watch observes the
 *    pod's ADDED and first Ready=True events; see bench/README.md);
 *  - a no-op step (`run: true`, run_script_step as the runner sends it) against a bare exec round
 *    trip of `true` into the same container with the project's client;
 *  - the API requests of one job lifecycle (prepare_job, one step, cleanup_job).
 *
 *   pnpm exec tsx --conditions=source bench/hook-steps.ts [prepare-runs] [step-runs]   (5, 15)
 *
 * Brings up the bench cluster with ZRH_NODE_MODE=real. Asserts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeClient, loadKubeConfigFile, type KubeClient } from '../packages/kube/src/index.js';
import type { WorkMode } from '../test/simulator/runner-pod.js';
import { createBenchNamespace, requireBundle, startBenchCluster, type BenchCluster, type BenchNamespace } from './lib/cluster.js';
import { watchPodTimeline, type PodTimeline } from './lib/pod-timeline.js';
import { addApiRequests, formatApiRequests, parseApiRequests, timeProcess, type ApiRequests, type ProcessSpec } from './lib/process.js';
import { heading, machineLoad, note, report, runBench } from './lib/report.js';
import { startBenchRunner, type BenchRunner } from './lib/runners.js';
import { median, min, ms, ratio, summary } from './lib/stats.js';

const BENCH = 'hook-steps';
const prepareRuns = Math.min(Math.max(Number(process.argv[2] ?? 5) || 5, 1), 30);
const stepRuns = Math.min(Math.max(Number(process.argv[3] ?? 15) || 15, 3), 100);
const JOB_IMAGE = 'zrh.local/debian:12-1';
const DEADLINE_MS = 20 * 60_000;

function requests(call: { stdout: string; stderr: string }): ApiRequests | undefined {
  return parseApiRequests(call.stdout + call.stderr);
}

function failIf(call: { ok: boolean; exitCode: number | null; stdout: string; stderr: string }, what: string): void {
  if (!call.ok) throw new Error(`${what} failed (exit ${String(call.exitCode)}):\n${call.stdout}${call.stderr}`);
}

async function benchMode(cluster: BenchCluster, ns: BenchNamespace, timeline: PodTimeline, mode: WorkMode): Promise<void> {
  heading(`${mode} mode (job container ${JOB_IMAGE} on the real node)`);
  const runner: BenchRunner = await startBenchRunner({
    admin: cluster.admin,
    namespace: ns.name,
    mode,
    placement: 'real',
    hookKubeconfig: ns.hookKubeconfig,
    clusterDir: cluster.dir,
    runnerEnv: { ZRH_LOG_LEVEL: 'debug' },
  });
  const sim = runner.simulator;
  let hook: KubeClient | undefined;
  let kubectlHome: string | undefined;
  let prepared = false;
  try {
    note(`runner pod ${runner.pod.name} on node ${runner.pod.nodeName}; ${machineLoad()}`);
    const prepareMs: number[] = [];
    const podMs: number[] = [];
    const overhead: number[] = [];
    let lifecycle: (ApiRequests | undefined)[] = [];
    // One warm-up job, `prepareRuns` measured ones; the last stays up for the steps.
    for (let i = 0; i <= prepareRuns; i++) {
      const p = await sim.prepareJob({ image: JOB_IMAGE });
      failIf(p, 'prepare_job');
      prepared = true;
      const pod = (sim.state as { jobPod: string }).jobPod;
      const own = timeline.createToReadyMs(pod);
      if (i > 0 && own !== undefined) {
        prepareMs.push(p.durationMs);
        podMs.push(own);
        overhead.push(p.durationMs - own);
      }
      lifecycle = [requests(p)];
      if (i < prepareRuns) {
        failIf(await sim.cleanupJob(), 'cleanup_job');
        prepared = false;
      }
    }
    const jobPod = (sim.state as { jobPod: string }).jobPod;
    note(`prepare_job ${summary(prepareMs)}`);
    note(`job pod create→Ready (observed) ${summary(podMs)}`);
    note(`prepare_job overhead ${summary(overhead)}`);

    hook = createKubeClient(await loadKubeConfigFile(ns.hookKubeconfig));
    const target = { namespace: ns.name, pod: jobPod, container: 'job', command: ['true'] } as const;
    const stepMs: number[] = [];
    const execMs: number[] = [];
    const kubectlMs: number[] = [];
    const nodeMs: number[] = [];
    // kubectl keeps a discovery cache under $HOME/.kube: give it a scratch home.
    kubectlHome = mkdtempSync(join(tmpdir(), 'zrh-bench-kubectl-'));
    const kubectl: ProcessSpec = {
      command: join(cluster.binDir, 'kubectl'),
      args: ['--kubeconfig', ns.hookKubeconfig, '-n', ns.name, 'exec', jobPod, '-c', 'job', '--', 'true'],
      env: { HOME: kubectlHome, PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    };
    let stepRequests: ApiRequests | undefined;
    for (let i = 0; i < stepRuns + 2; i++) {
      const step = await sim.runScript('true\n', { name: 'no-op' });
      failIf(step, 'run_script_step');
      stepRequests = requests(step);
      const started = performance.now();
      const { exitCode } = await hook.exec(target);
      const execWall = performance.now() - started;
      if (exitCode !== 0) throw new Error(`bare exec of true exited ${exitCode}`);
      const bareNode = await timeProcess({ command: process.execPath, args: ['-e', '0'] });
      const kc = await timeProcess(kubectl);
      if (kc.exitCode !== 0) throw new Error(`kubectl exec of true exited ${String(kc.exitCode)}: ${kc.stderr}`);
      if (i >= 2) {
        kubectlMs.push(kc.wallMs);
        nodeMs.push(bareNode.wallMs);
        stepMs.push(step.durationMs);
        execMs.push(execWall);
      }
    }
    lifecycle.push(stepRequests);
    const cleanup = await sim.cleanupJob();
    failIf(cleanup, 'cleanup_job');
    prepared = false;
    lifecycle.push(requests(cleanup));
    note(`no-op step (run_script_step \`true\`) ${summary(stepMs)}`);
    note(`bare exec \`true\` (project client, same container) ${summary(execMs)}`);
    note(`kubectl exec \`true\` (a process: start, kubeconfig, TLS, one exec) ${summary(kubectlMs)}`);
    note(`node -e 0 (the floor of any hook process) ${summary(nodeMs)}`);
    note(`so a step ≈ node start ${ms(median(nodeMs))} + exec ${ms(median(execMs))} + the hook's own work ${ms(median(stepMs) - median(nodeMs) - median(execMs))} (medians)`);
    note(`machine: ${machineLoad()}`);

    const stepRatio = median(stepMs) / median(execMs);
    report({ bench: BENCH, figure: `${mode}: job pod create→Ready (observed), median`, value: ms(median(podMs)), target: '', ok: null });
    report({ bench: BENCH, figure: `${mode}: prepare_job overhead over create→Ready, median`, value: ms(median(overhead)), target: '≤ 0.3 s', ok: median(overhead) <= 300 });
    report({ bench: BENCH, figure: `${mode}: no-op step, median wall`, value: ms(median(stepMs)), target: '', ok: null });
    report({ bench: BENCH, figure: `${mode}: bare exec round trip, median wall`, value: ms(median(execMs)), target: '', ok: null });
    report({ bench: BENCH, figure: `${mode}: no-op step / bare exec (medians)`, value: ratio(stepRatio), target: '≤ 1.5×', ok: stepRatio <= 1.5 });
    report({ bench: BENCH, figure: `${mode}: no-op step / bare exec (fastest runs)`, value: ratio(min(stepMs) / min(execMs)), target: '', ok: null });
    const kubectlRatio = median(stepMs) / median(kubectlMs);
    report({ bench: BENCH, figure: `${mode}: no-op step / \`kubectl exec … true\` (medians)`, value: `${ratio(kubectlRatio)} (kubectl ${ms(median(kubectlMs))})`, target: '', ok: null });
    report({ bench: BENCH, figure: `${mode}: API requests per job lifecycle (prepare_job + 1 step + cleanup_job)`, value: formatApiRequests(addApiRequests(lifecycle)), target: '', ok: null });
    note(`prepare_job ${formatApiRequests(addApiRequests([lifecycle[0]]))}; step ${formatApiRequests(addApiRequests([lifecycle[1]]))}; cleanup_job ${formatApiRequests(addApiRequests([lifecycle[2]]))}`);
  } finally {
    if (kubectlHome) rmSync(kubectlHome, { recursive: true, force: true });
    hook?.close();
    if (prepared) await sim.cleanupJob().catch(() => undefined);
    await runner.dispose();
  }
}

async function main(): Promise<void> {
  requireBundle();
  heading(`Steps on the real node: ${prepareRuns} prepare_job and ${stepRuns} no-op steps per workspace mode`);
  const cluster = await startBenchCluster('real');
  const ns = await createBenchNamespace(cluster, 'bench-steps');
  const timeline = await watchPodTimeline(cluster.admin, ns.name);
  try {
    for (const mode of ['volume', 'copy'] as const) await benchMode(cluster, ns, timeline, mode);
    note('upstream: 13 SelfSubjectAccessReviews per hook call (so per step) before any work, plus polling while pods start');
  } finally {
    await timeline.stop();
    await ns.delete();
    await cluster.stop();
  }
}

runBench(BENCH, main, DEADLINE_MS);
