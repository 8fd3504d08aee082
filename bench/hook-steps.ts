/**
 * Benchmark on the real node (kubelet + containerd): in both workspace modes (volume: the
 * runner's work claim mounted into the job pod; copy: no shared volume, files go over exec)
 *  - prepare_job's overhead over the job pod's own create→Ready time (an admin watch observes the
 *    pod's ADDED and first Ready=True events; see bench/README.md);
 *  - a no-op step (`run: true`, run_script_step as the runner sends it) against a bare exec round
 *    trip of `true` into the same container with the project's client;
 *  - the API requests of one job lifecycle (prepare_job, one step, cleanup_job);
 *  - container steps (`uses: docker://…`, run_container_step): the step pod's own
 *    create→step-container-terminated time (observed like create→Ready), the hook's overhead
 *    beyond it, and the requests of one step;
 *  - copy mode only: a workspace of 200 MiB in 5,000 files, with a no-op script step and a
 *    container step (which copies the workspace into its pod and back);
 *  - the CPU time (user+sys, GNU time) of every hook call, per command, next to `node -e 0`'s.
 *
 *   pnpm exec tsx --conditions=source bench/hook-steps.ts [prepare-runs] [step-runs] [container-runs]   (5, 15, 7)
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
import { addApiRequests, formatApiRequests, parseApiRequests, resourceUsage, timeProcess, type ApiRequests, type ProcessSpec } from './lib/process.js';
import { heading, machineLoad, note, report, runBench } from './lib/report.js';
import { readCallUsage, startBenchRunner, type BenchRunner } from './lib/runners.js';
import { median, min, ms, ratio, summary } from './lib/stats.js';

const BENCH = 'hook-steps';
const prepareRuns = Math.min(Math.max(Number(process.argv[2] ?? 5) || 5, 1), 30);
const stepRuns = Math.min(Math.max(Number(process.argv[3] ?? 15) || 15, 3), 100);
const containerRuns = Math.min(Math.max(Number(process.argv[4] ?? 7) || 7, 1), 50);
/** The container steps' image and the workspace script they run. */
const STEP_IMAGE = 'zrh.local/busybox:1';
const STEP_SCRIPT = 'zrh-bench-step.sh';
/** The large workspace of the copy-mode figures: files × bytes each ≈ 200 MiB. */
const LARGE_FILES = 5000;
const LARGE_FILE_BYTES = Math.floor((200 * 1024 * 1024) / LARGE_FILES);
/** `ZRH_BENCH_LARGE=0` skips the large workspace (e.g. while looking at the small steps only). */
const LARGE_RUNS = process.env['ZRH_BENCH_LARGE'] === '0' ? 0 : 3;
const JOB_IMAGE = 'zrh.local/debian:12-1';
const DEADLINE_MS = 20 * 60_000;

function requests(call: { stdout: string; stderr: string }): ApiRequests | undefined {
  return parseApiRequests(call.stdout + call.stderr);
}

function failIf(call: { ok: boolean; exitCode: number | null; stdout: string; stderr: string }, what: string): void {
  if (!call.ok) throw new Error(`${what} failed (exit ${String(call.exitCode)}):\n${call.stdout}${call.stderr}`);
}

/** CPU time (ms, user+sys) of each hook call, by command; filled from GNU time after each call. */
type CpuByCommand = Map<string, number[]>;

/** Records the CPU time of the runner's latest hook call under `command`. */
async function recordCpu(runner: BenchRunner, cpu: CpuByCommand, command: string): Promise<void> {
  const usage = await readCallUsage(runner);
  const last = usage[usage.length - 1];
  if (!last) return;
  cpu.set(command, [...(cpu.get(command) ?? []), last.cpuMs]);
}

/** The step pod a run_container_step created, from its `Running <image> in step pod <name>` line. */
function stepPodOf(call: { stdout: string; stderr: string }): string | undefined {
  return /in step pod (\S+)/.exec(call.stdout + call.stderr)?.[1];
}

/**
 * The hook's phase marks of a run_container_step (its debug line `run_container_step timings (ms
 * since the process started): start 80, pod created 120, …`), as the time each phase took.
 */
function phasesOf(call: { stdout: string; stderr: string }): Map<string, number> {
  const line = /run_container_step timings \(ms since the process started\): (.*)/.exec(call.stdout + call.stderr)?.[1] ?? '';
  const phases = new Map<string, number>();
  let before: number | undefined;
  for (const part of line.split(', ')) {
    const m = /^(.*) (\d+)$/.exec(part.trim());
    if (!m) continue;
    const at = Number(m[2]);
    phases.set(m[1] as string, before === undefined ? at : at - before);
    before = at;
  }
  return phases;
}

/** One container step's figures. */
interface ContainerStepRun {
  readonly phases: Map<string, number>;
  readonly wallMs: number;
  /** The step pod's create→step-container-terminated, observed; undefined when not seen. */
  readonly podMs: number | undefined;
  readonly requests: ApiRequests | undefined;
}

/** Runs `sh /github/workspace/<STEP_SCRIPT>` in a container step; the script writes a file and an output. */
async function containerStep(
  runner: BenchRunner,
  timeline: PodTimeline,
  cpu: CpuByCommand,
  label: string,
  cpuAs = 'run_container_step',
): Promise<ContainerStepRun> {
  const call = await runner.simulator.runContainerStep({ image: STEP_IMAGE, entryPoint: 'sh', args: [`/github/workspace/${STEP_SCRIPT}`] });
  failIf(call, `container step (${label})`);
  if (call.fileCommands.outputs['bench'] !== 'done') throw new Error(`container step (${label}): its output did not arrive:\n${call.stdout}${call.stderr}`);
  await recordCpu(runner, cpu, cpuAs);
  const pod = stepPodOf(call);
  // The observer may get the terminated event a moment after the hook has finished.
  for (let i = 0; pod && i < 20 && timeline.createToStepTerminatedMs(pod) === undefined; i++) await new Promise((r) => setTimeout(r, 50));
  return { phases: phasesOf(call), wallMs: call.durationMs, podMs: pod ? timeline.createToStepTerminatedMs(pod) : undefined, requests: requests(call) };
}

function reportContainerSteps(mode: WorkMode, label: string, runs: readonly ContainerStepRun[]): { wall: number; pod: number; overhead: number } {
  const seen = runs.filter((r) => r.podMs !== undefined);
  const wall = runs.map((r) => r.wallMs);
  const pod = seen.map((r) => r.podMs as number);
  const overhead = seen.map((r) => r.wallMs - (r.podMs as number));
  note(`${label}: run_container_step ${summary(wall)}`);
  note(`${label}: step pod create→step terminated (observed) ${summary(pod)}`);
  note(`${label}: hook overhead beyond it ${summary(overhead)}`);
  const names = [...new Set(runs.flatMap((r) => [...r.phases.keys()]))];
  const phase = (n: string) => `${n} ${ms(median(runs.map((r) => r.phases.get(n)).filter((v) => v !== undefined)))}`;
  if (names.length) note(`${label}: the hook's phases (median time from the mark before; the first from the process start): ${names.map(phase).join(' · ')}`);
  report({ bench: BENCH, figure: `${mode}: ${label}, median wall`, value: ms(median(wall)), target: '', ok: null });
  report({
    bench: BENCH,
    figure: `${mode}: ${label}, step pod create→step terminated · hook overhead beyond it (medians)`,
    value: `${ms(median(pod))} · ${ms(median(overhead))}`,
    target: '',
    ok: null,
  });
  report({
    bench: BENCH,
    figure: `${mode}: ${label}, API requests`,
    value: formatApiRequests(addApiRequests([runs[runs.length - 1]?.requests])),
    target: '',
    ok: null,
  });
  return { wall: median(wall), pod: median(pod), overhead: median(overhead) };
}

/** Median container-step wall time per mode, for the copy/volume ratio. */
const containerWall = new Map<WorkMode, number>();

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
    rusage: true,
  });
  const cpu: CpuByCommand = new Map();
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
      if (i > 0) await recordCpu(runner, cpu, 'prepare_job');
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
        await recordCpu(runner, cpu, 'cleanup_job');
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
      if (i >= 2) await recordCpu(runner, cpu, 'run_script_step');
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

    // Container steps: a workspace script (written by a script step, so it is in the job pod in
    // copy mode too) that writes a file and an output. One warm-up step.
    const write = await sim.runScript(
      `printf '#!/bin/sh\\necho built > "$GITHUB_WORKSPACE/bench-out.txt"\\necho bench=done >> "$GITHUB_OUTPUT"\\n' > "$GITHUB_WORKSPACE/${STEP_SCRIPT}"\n`,
      { name: 'write the step script' },
    );
    failIf(write, 'writing the container step script');
    const containerRunsSmall: ContainerStepRun[] = [];
    for (let i = 0; i <= containerRuns; i++) {
      const run = await containerStep(runner, timeline, i > 0 ? cpu : new Map(), 'small workspace');
      if (i > 0) containerRunsSmall.push(run);
    }
    const small = reportContainerSteps(mode, 'container step (busybox, small workspace)', containerRunsSmall);
    containerWall.set(mode, small.wall);

    if (mode === 'copy' && LARGE_RUNS > 0) {
      // 200 MiB in 5,000 files in the job pod's workspace: a script step sends only its script and
      // file commands, a container step copies the workspace into its pod and back.
      const fill = await sim.runScript(
        `mkdir -p big && cd big && i=0; while [ $i -lt ${LARGE_FILES} ]; do head -c ${LARGE_FILE_BYTES} /dev/urandom > f$i; i=$((i+1)); done; echo "size: $(du -sm . | cut -f1) MiB"\n`,
        { name: 'fill the workspace' },
      );
      failIf(fill, 'filling the workspace');
      note(`large workspace: ${LARGE_FILES} files of ${LARGE_FILE_BYTES} bytes (${/size: (\d+ MiB)/.exec(fill.stdout)?.[1] ?? '?'} by du) in the job pod`);
      const bigScript: number[] = [];
      for (let i = 0; i < LARGE_RUNS; i++) {
        const step = await sim.runScript('true\n', { name: 'no-op, large workspace' });
        failIf(step, 'run_script_step (large workspace)');
        await recordCpu(runner, cpu, 'run_script_step, 200 MiB workspace');
        bigScript.push(step.durationMs);
      }
      note(`large workspace: no-op script step ${summary(bigScript)}`);
      report({
        bench: BENCH,
        figure: `${mode}: no-op script step, 200 MiB / 5,000-file workspace, median wall`,
        value: ms(median(bigScript)),
        target: '',
        ok: null,
      });
      const bigRuns: ContainerStepRun[] = [];
      for (let i = 0; i < LARGE_RUNS; i++) bigRuns.push(await containerStep(runner, timeline, cpu, 'large workspace', 'run_container_step, 200 MiB workspace'));
      reportContainerSteps(mode, 'container step, 200 MiB / 5,000-file workspace', bigRuns);
      const check = await sim.runScript('ls big | wc -l\ncat bench-out.txt\n', { name: 'check the workspace' });
      failIf(check, 'checking the workspace');
      if (!check.stdout.includes(String(LARGE_FILES)) || !check.stdout.includes('built'))
        throw new Error(`the workspace did not come back whole:\n${check.stdout}`);
    }

    const cleanup = await sim.cleanupJob();
    failIf(cleanup, 'cleanup_job');
    await recordCpu(runner, cpu, 'cleanup_job');
    prepared = false;
    lifecycle.push(requests(cleanup));

    const bareCpu: number[] = [];
    for (let i = 0; i < 10; i++) bareCpu.push((await resourceUsage({ command: process.execPath, args: ['-e', '0'] })).cpuMs);
    const nodeCpu = median(bareCpu);
    note(`CPU (user+sys, GNU time, 10 ms ticks) of \`node -e 0\`: ${summary(bareCpu)}`);
    for (const [command, values] of cpu) {
      note(`CPU of ${command}: ${summary(values)}`);
      report({
        bench: BENCH,
        figure: `${mode}: CPU per ${command} call, 1 job (median; / \`node -e 0\`)`,
        value: `${ms(median(values))} (${ratio(median(values) / nodeCpu)})`,
        target: '',
        ok: null,
      });
    }
    note(`no-op step (run_script_step \`true\`) ${summary(stepMs)}`);
    note(`bare exec \`true\` (project client, same container) ${summary(execMs)}`);
    note(`kubectl exec \`true\` (a process: start, kubeconfig, TLS, one exec) ${summary(kubectlMs)}`);
    note(`node -e 0 (the floor of any hook process) ${summary(nodeMs)}`);
    note(
      `so a step ≈ node start ${ms(median(nodeMs))} + exec ${ms(median(execMs))} + the hook's own work ${ms(median(stepMs) - median(nodeMs) - median(execMs))} (medians)`,
    );
    note(`machine: ${machineLoad()}`);

    const stepRatio = median(stepMs) / median(execMs);
    report({ bench: BENCH, figure: `${mode}: job pod create→Ready (observed), median`, value: ms(median(podMs)), target: '', ok: null });
    report({
      bench: BENCH,
      figure: `${mode}: prepare_job overhead over create→Ready, median`,
      value: ms(median(overhead)),
      target: '≤ 0.3 s',
      ok: median(overhead) <= 300,
    });
    report({ bench: BENCH, figure: `${mode}: no-op step, median wall`, value: ms(median(stepMs)), target: '', ok: null });
    report({ bench: BENCH, figure: `${mode}: bare exec round trip, median wall`, value: ms(median(execMs)), target: '', ok: null });
    report({ bench: BENCH, figure: `${mode}: no-op step / bare exec (medians)`, value: ratio(stepRatio), target: '≤ 1.5×', ok: stepRatio <= 1.5 });
    report({ bench: BENCH, figure: `${mode}: no-op step / bare exec (fastest runs)`, value: ratio(min(stepMs) / min(execMs)), target: '', ok: null });
    const kubectlRatio = median(stepMs) / median(kubectlMs);
    report({
      bench: BENCH,
      figure: `${mode}: no-op step / \`kubectl exec … true\` (medians)`,
      value: `${ratio(kubectlRatio)} (kubectl ${ms(median(kubectlMs))})`,
      target: '',
      ok: null,
    });
    report({
      bench: BENCH,
      figure: `${mode}: API requests per job lifecycle (prepare_job + 1 step + cleanup_job)`,
      value: formatApiRequests(addApiRequests(lifecycle)),
      target: '',
      ok: null,
    });
    note(
      `prepare_job ${formatApiRequests(addApiRequests([lifecycle[0]]))}; step ${formatApiRequests(addApiRequests([lifecycle[1]]))}; cleanup_job ${formatApiRequests(addApiRequests([lifecycle[2]]))}`,
    );
  } finally {
    if (kubectlHome) rmSync(kubectlHome, { recursive: true, force: true });
    hook?.close();
    if (prepared) await sim.cleanupJob().catch(() => undefined);
    await runner.dispose();
  }
}

async function main(): Promise<void> {
  requireBundle();
  heading(`Steps on the real node: ${prepareRuns} prepare_job, ${stepRuns} no-op steps and ${containerRuns} container steps per workspace mode`);
  const cluster = await startBenchCluster('real');
  const ns = await createBenchNamespace(cluster, 'bench-steps');
  const timeline = await watchPodTimeline(cluster.admin, ns.name);
  try {
    for (const mode of ['volume', 'copy'] as const) await benchMode(cluster, ns, timeline, mode);
    const volume = containerWall.get('volume');
    const copy = containerWall.get('copy');
    if (volume && copy) {
      report({
        bench: BENCH,
        figure: 'container step: copy mode / volume mode (median walls)',
        value: ratio(copy / volume),
        target: '≤ 1.3×',
        ok: copy / volume <= 1.3,
      });
      report({ bench: BENCH, figure: 'container step in copy mode, median wall', value: ms(copy), target: '< 2.5 s (upstream 0.8.1)', ok: copy < 2500 });
    }
    note('upstream: 13 SelfSubjectAccessReviews per hook call (so per step) before any work, plus polling while pods start');
  } finally {
    await timeline.stop();
    await ns.delete();
    await cluster.stop();
  }
}

runBench(BENCH, main, DEADLINE_MS);
