/**
 * Benchmark: 50 concurrent jobs on kwok nodes. Each simulated runner (a runner pod on a kwok
 * node, with its work claim: ARC's kubernetes mode) runs prepare_job for a services-only job, then
 * cleanup_job. kwok pulls nothing and runs `exec` on the host, so the jobs have no job container:
 * prepare_job then execs nothing at all (no isAlpine probe, no workspace copy) — nothing reaches
 * this machine's shell.
 *
 * Per-job hook overhead = prepare_job's wall time (runner spawns the hook → hook exits) minus the
 * job pod's own create→Ready time, which an admin watch on the namespace observes as the time
 * between the pod's ADDED event and its first Ready=True event.
 *
 *   pnpm exec tsx --conditions=source bench/hook-concurrency.ts [jobs] [single-runs]   (50, 5)
 *
 * Prints p50/p95 of the overhead at N-way concurrency, the single-job median and their ratio,
 * and the API requests per job lifecycle. Asserts nothing.
 */
import { createBenchNamespace, requireBundle, startBenchCluster } from './lib/cluster.js';
import { watchPodTimeline, type PodTimeline } from './lib/pod-timeline.js';
import { addApiRequests, formatApiRequests, parseApiRequests, resourceUsage, type ApiRequests } from './lib/process.js';
import { heading, machineLoad, note, report, runBench } from './lib/report.js';
import { mapLimit, readCallUsage, startBenchRunner, type BenchRunner } from './lib/runners.js';
import { cpus } from 'node:os';
import { max, median, mib, ms, percentile, ratio, summary } from './lib/stats.js';

const BENCH = 'hook-concurrency';
const jobs = Math.min(Math.max(Number(process.argv[2] ?? 50) || 50, 2), 100);
const singleRuns = Math.min(Math.max(Number(process.argv[3] ?? 5) || 5, 1), 20);
/** The service every job gets (kwok never pulls it). */
const SERVICE = { image: 'zrh.local/busybox:1', entrypoint: 'httpd', command: '-f -p 8080', ports: ['8080'] };
/** Hard limit for the whole benchmark. */
const DEADLINE_MS = 15 * 60_000;

interface JobRun {
  readonly prepareMs: number;
  readonly podMs: number | undefined;
  readonly serverPodMs: number | undefined;
  readonly overheadMs: number | undefined;
  readonly cleanupMs: number;
  readonly prepareRequests: ApiRequests | undefined;
  readonly cleanupRequests: ApiRequests | undefined;
}

function jobPodOf(runner: BenchRunner): string {
  const state = runner.simulator.state as { jobPod?: string } | null;
  if (!state?.jobPod) throw new Error(`runner ${runner.pod.name}: prepare_job left no jobPod in the state`);
  return state.jobPod;
}

async function prepare(runner: BenchRunner): Promise<{ ms: number; requests: ApiRequests | undefined }> {
  const call = await runner.simulator.prepareJob(null, [SERVICE]);
  if (!call.ok) throw new Error(`prepare_job of ${runner.pod.name} failed (exit ${String(call.exitCode)}):\n${call.stdout}${call.stderr}`);
  return { ms: call.durationMs, requests: parseApiRequests(call.stdout + call.stderr) };
}

async function cleanup(runner: BenchRunner): Promise<{ ms: number; requests: ApiRequests | undefined }> {
  const call = await runner.simulator.cleanupJob();
  if (!call.ok) throw new Error(`cleanup_job of ${runner.pod.name} failed (exit ${String(call.exitCode)}):\n${call.stdout}${call.stderr}`);
  return { ms: call.durationMs, requests: parseApiRequests(call.stdout + call.stderr) };
}

function jobRun(
  timeline: PodTimeline,
  pod: string,
  p: { ms: number; requests: ApiRequests | undefined },
  c: { ms: number; requests: ApiRequests | undefined },
): JobRun {
  const podMs = timeline.createToReadyMs(pod);
  return {
    prepareMs: p.ms,
    podMs,
    serverPodMs: timeline.serverCreateToReadyMs(pod),
    overheadMs: podMs === undefined ? undefined : p.ms - podMs,
    cleanupMs: c.ms,
    prepareRequests: p.requests,
    cleanupRequests: c.requests,
  };
}

const defined = (xs: readonly (number | undefined)[]): number[] => xs.filter((x): x is number => x !== undefined);

async function main(): Promise<void> {
  requireBundle();
  heading(`${jobs} concurrent jobs on kwok nodes (services-only, volume mode); single-job baseline over ${singleRuns} runs`);
  const cluster = await startBenchCluster('kwok');
  const ns = await createBenchNamespace(cluster, 'bench-conc');
  const runners: BenchRunner[] = [];
  let timeline: PodTimeline | undefined;
  try {
    const setupStart = performance.now();
    runners.push(
      ...(await mapLimit(Array.from({ length: jobs }), 10, () =>
        startBenchRunner({
          admin: cluster.admin,
          namespace: ns.name,
          mode: 'volume',
          placement: 'kwok',
          hookKubeconfig: ns.hookKubeconfig,
          clusterDir: cluster.dir,
          runnerEnv: { ZRH_LOG_LEVEL: 'debug' },
          rusage: true,
        }),
      )),
    );
    note(`${jobs} runner pods with work claims ready in ${ms(performance.now() - setupStart)} (not measured)`);
    timeline = await watchPodTimeline(cluster.admin, ns.name);
    note(`machine before the runs: ${machineLoad()}`);

    // Single job, one at a time (first run is a warm-up).
    const single: JobRun[] = [];
    const first = runners[0] as BenchRunner;
    for (let i = 0; i <= singleRuns; i++) {
      const p = await prepare(first);
      const pod = jobPodOf(first);
      const c = await cleanup(first);
      if (i > 0) single.push(jobRun(timeline, pod, p, c));
    }

    // All jobs at once, then all cleanups at once.
    const wallStart = performance.now();
    const prepared = await Promise.all(runners.map((r) => prepare(r)));
    const prepareWall = performance.now() - wallStart;
    const pods = runners.map(jobPodOf);
    const cleanupStart = performance.now();
    const cleaned = await Promise.all(runners.map((r) => cleanup(r)));
    const cleanupWall = performance.now() - cleanupStart;
    const concurrent = runners.map((_, i) =>
      jobRun(
        timeline as PodTimeline,
        pods[i] as string,
        prepared[i] as { ms: number; requests: ApiRequests | undefined },
        cleaned[i] as { ms: number; requests: ApiRequests | undefined },
      ),
    );

    note(`machine after the runs: ${machineLoad()}`);
    const usage = await Promise.all(runners.map(readCallUsage));
    const singleUsage = (usage[0] ?? []).slice(2, 2 + 2 * singleRuns);
    const singlePrepareCpu = singleUsage.filter((_, i) => i % 2 === 0).map((u) => u.cpuMs);
    const concPrepare = usage.map((u) => u[u.length - 2]).filter((u) => u !== undefined);
    const concCleanup = usage.map((u) => u[u.length - 1]).filter((u) => u !== undefined);
    const concCpu = [...concPrepare, ...concCleanup].map((u) => u.cpuMs);
    const singleOverhead = defined(single.map((j) => j.overheadMs));
    const concOverhead = defined(concurrent.map((j) => j.overheadMs));
    note(`single job: prepare_job ${summary(single.map((j) => j.prepareMs))}`);
    note(`            pod create→Ready (observed) ${summary(defined(single.map((j) => j.podMs)))}`);
    note(`            hook overhead ${summary(singleOverhead)}`);
    note(`            cleanup_job ${summary(single.map((j) => j.cleanupMs))}`);
    note(`${jobs} at once: all prepare_job done after ${ms(prepareWall)}; prepare_job ${summary(concurrent.map((j) => j.prepareMs))}`);
    note(
      `            pod create→Ready (observed) ${summary(defined(concurrent.map((j) => j.podMs)))}; by server timestamps (1 s resolution) median ${ms(median(defined(concurrent.map((j) => j.serverPodMs))))}`,
    );
    note(`            hook overhead ${summary(concOverhead)}`);
    note(`            all cleanup_job done after ${ms(cleanupWall)}; cleanup_job ${summary(concurrent.map((j) => j.cleanupMs))}`);
    if (concOverhead.length < concurrent.length)
      note(`(${concurrent.length - concOverhead.length} job pods were not seen both created and Ready by the observer)`);

    if (concPrepare.length) {
      const bareCpu: number[] = [];
      for (let i = 0; i < 10; i++) bareCpu.push((await resourceUsage({ command: process.execPath, args: ['-e', '0'] })).cpuMs);
      const nodeCpu = median(bareCpu);
      const singleCleanupCpu = singleUsage.filter((_, i) => i % 2 === 1).map((u) => u.cpuMs);
      const perCall = (label: string, single: readonly number[], conc: readonly number[]) => {
        const s = median(single);
        const c = median(conc);
        report({
          bench: BENCH,
          figure: `CPU (user+sys) per ${label} call: 1 job · ${jobs} at once (medians; / \`node -e 0\` ${ms(nodeCpu)})`,
          value: `${ms(s)} (${ratio(s / nodeCpu)}) · ${ms(c)} (${ratio(c / nodeCpu)})`,
          target: `≤ 2.5× at ${jobs}`,
          ok: c / nodeCpu <= 2.5,
        });
      };
      perCall(
        'prepare_job',
        singlePrepareCpu,
        concPrepare.map((u) => u.cpuMs),
      );
      perCall(
        'cleanup_job',
        singleCleanupCpu,
        concCleanup.map((u) => u.cpuMs),
      );
      note(
        `hook CPU (user+sys) per prepare_job: single ${ms(median(singlePrepareCpu))}, at ${jobs}-way ${ms(median(concPrepare.map((u) => u.cpuMs)))} (medians)`,
      );
      note(
        `CPU the ${jobs} prepare_job + ${jobs} cleanup_job processes used: ${ms(concCpu.reduce((a, b) => a + b, 0))}, i.e. ≥ ${ms(concCpu.reduce((a, b) => a + b, 0) / cpus().length)} of wall time on ${cpus().length} cores even with nothing else running`,
      );
    }
    const singleMedian = median(singleOverhead);
    const p95 = percentile(concOverhead, 95);
    report({ bench: BENCH, figure: 'single job: hook overhead median (prepare_job − pod create→Ready)', value: ms(singleMedian), target: '', ok: null });
    report({ bench: BENCH, figure: `${jobs} concurrent: hook overhead p50`, value: ms(percentile(concOverhead, 50)), target: '', ok: null });
    report({ bench: BENCH, figure: `${jobs} concurrent: hook overhead p95`, value: ms(p95), target: '', ok: null });
    report({
      bench: BENCH,
      figure: `${jobs} concurrent: overhead p95 / single-job median`,
      value: ratio(p95 / singleMedian),
      target: '≤ 2×',
      ok: p95 / singleMedian <= 2,
    });
    report({
      bench: BENCH,
      figure: `${jobs} concurrent: cleanup_job p50 / p95`,
      value: `${ms(
        percentile(
          concurrent.map((j) => j.cleanupMs),
          50,
        ),
      )} / ${ms(
        percentile(
          concurrent.map((j) => j.cleanupMs),
          95,
        ),
      )}`,
      target: '',
      ok: null,
    });
    if (concPrepare.length) {
      const rss = concPrepare.map((u) => u.maxRssKiB);
      report({
        bench: BENCH,
        figure: 'prepare_job peak RSS per hook process (median / max)',
        value: `${mib(median(rss))} / ${mib(max(rss))}`,
        target: '≤ 70 MiB',
        ok: max(rss) <= 70 * 1024,
      });
    }
    const lifecycle = concurrent.map((j) => addApiRequests([j.prepareRequests, j.cleanupRequests]));
    const totals = lifecycle.map((r) => r.total);
    report({
      bench: BENCH,
      figure: 'API requests per job lifecycle (prepare_job + cleanup_job, services-only)',
      value: `${formatApiRequests(addApiRequests([concurrent[0]?.prepareRequests, concurrent[0]?.cleanupRequests]))}; over ${jobs} jobs min ${Math.min(...totals)}, max ${Math.max(...totals)}`,
      target: '',
      ok: null,
    });
    note(
      `prepare_job: ${formatApiRequests(addApiRequests([concurrent[0]?.prepareRequests]))}; cleanup_job: ${formatApiRequests(addApiRequests([concurrent[0]?.cleanupRequests]))}`,
    );
    note('upstream: 13 SelfSubjectAccessReviews per hook call before any work, plus polling the pod every second while waiting');
  } finally {
    await timeline?.stop();
    await mapLimit(runners, 10, (r) => r.dispose());
    await ns.delete();
    await cluster.stop();
  }
}

runBench(BENCH, main, DEADLINE_MS);
