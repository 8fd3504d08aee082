import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { R, type KubeClient } from '../../packages/kube/src/index.js';
import { buildHookProcessEnv } from '../../test/simulator/hook-env.js';
import { RunnerSimulator } from '../../test/simulator/runner.js';
import { createRunnerPod, hostPathOfVolume, type Placement, type RunnerPodApi, type RunnerPodInfo, type WorkMode } from '../../test/simulator/runner-pod.js';
import { defaultJobFacts } from '../../test/simulator/step-env.js';
import { layOutWork } from '../../test/simulator/work-layout.js';
import { HOOK_BUNDLE } from './cluster.js';

/** A lightweight simulated runner for many-runner benchmarks. */
export interface BenchRunner {
  readonly simulator: RunnerSimulator;
  readonly pod: RunnerPodInfo;
  /** With `rusage`: one `wall user sys maxRssKiB` line per hook call. */
  readonly rusageFile: string | undefined;
  dispose(): Promise<void>;
}

/** What `startBenchRunner` needs. */
export interface BenchRunnerOptions {
  /** Admin client (creates and deletes the runner pod). */
  readonly admin: KubeClient;
  readonly namespace: string;
  readonly mode: WorkMode;
  readonly placement: Placement;
  /** The hook's least-privilege kubeconfig file. */
  readonly hookKubeconfig: string;
  /** The bench cluster's dir (host folders of its host-path CSI volumes). */
  readonly clusterDir: string;
  /** Extra env of the runner pod and the hook process (e.g. `ZRH_LOG_LEVEL`). */
  readonly runnerEnv?: Readonly<Record<string, string>>;
  /**
   * Run each hook process under GNU time, appending `wall user sys maxRssKiB` lines to
   * `BenchRunner.rusageFile` (adds one exec of /usr/bin/time to every call).
   */
  readonly rusage?: boolean;
}

type Pod = Parameters<RunnerPodApi['createPod']>[1];
/** The simulator's `createRunnerPod` over the project's client (the benchmarks use no other). */
function runnerPods(admin: KubeClient): RunnerPodApi {
  return {
    createPod: (namespace, pod) => admin.create<Pod>({ type: R.pods, namespace }, pod),
    readPod: (namespace, name) => admin.get({ type: R.pods, namespace, name }),
    readClaim: (namespace, name) => admin.get({ type: R.persistentVolumeClaims, namespace, name }),
    readVolume: (name) => admin.get({ type: R.persistentVolumes, name }),
  };
}

/**
 * Like the simulator's `startRunnerSimulator` (runner pod, `_work` on the work claim's host folder
 * in volume mode, the hook installed as a lone `k8s/index.js`), but without copying a node binary
 * into `externals/` for every runner: the hook runs with this process's node, and
 * `externals/node20/bin/node` is a stub (only JavaScript-action steps would use it).
 */
export async function startBenchRunner(options: BenchRunnerOptions): Promise<BenchRunner> {
  const root = await mkdtemp(join(tmpdir(), 'zrh-bench-runner-'));
  let pod: RunnerPodInfo | undefined;
  const dispose = async () => {
    if (pod) await options.admin.delete({ type: R.pods, namespace: pod.namespace, name: pod.name }, { gracePeriodSeconds: 0 }).catch(() => false);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const workDir = join(root, '_work');
    pod = await createRunnerPod(
      runnerPods(options.admin),
      { namespace: options.namespace, mode: options.mode, placement: options.placement, workPath: workDir, ...(options.runnerEnv ? { env: options.runnerEnv } : {}) },
      120_000,
    );
    if (pod.mode === 'volume') {
      const pv = pod.volume;
      const handle = pv?.spec?.csi?.volumeHandle;
      const dir = (pv && hostPathOfVolume(pv)) ?? (handle ? join(options.clusterDir, 'csi-hostpath', 'volumes', handle) : undefined);
      if (!dir) throw new Error(`runner pod ${pod.name}: cannot find the host folder of its work volume`);
      await symlink(dir, workDir);
    }
    const stub = join(root, 'node-stub');
    await writeFile(stub, '#!/bin/sh\necho "externals node stub: not used by this benchmark" >&2\nexit 1\n');
    const repository = 'octo-org/hello';
    const layout = await layOutWork({ workDir, externalsDir: join(root, 'externals'), repository, owner: null, nodeBinary: stub });
    const hookPath = join(root, 'k8s', 'index.js');
    await mkdir(join(root, 'k8s'));
    await copyFile(HOOK_BUNDLE, hookPath);
    const facts = defaultJobFacts(repository, pod.name);
    let node = process.execPath;
    let rusageFile: string | undefined;
    if (options.rusage) {
      rusageFile = join(root, 'rusage');
      node = join(root, 'node-under-time');
      await writeFile(node, `#!/bin/sh\nexec /usr/bin/time -a -o '${rusageFile}' -f '%e %U %S %M' '${process.execPath}' "$@"\n`, { mode: 0o755 });
    }
    const simulator = new RunnerSimulator({
      layout,
      facts,
      hookPath,
      node,
      hookEnv: buildHookProcessEnv({
        layout,
        facts,
        podName: pod.name,
        namespace: options.namespace,
        kubeconfig: options.hookKubeconfig,
        hookPath,
        home: root,
        path: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
        ...(options.runnerEnv ? { extra: options.runnerEnv } : {}),
      }),
      onDispose: dispose,
    });
    return { simulator, pod, rusageFile, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Runs `task` over `items` with at most `limit` at a time; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** One hook call's resource usage as GNU time wrote it. */
export interface CallUsage {
  readonly cpuMs: number;
  readonly maxRssKiB: number;
}

/** The resource usage lines of a runner's hook calls so far, oldest first. */
export async function readCallUsage(runner: BenchRunner): Promise<CallUsage[]> {
  if (!runner.rusageFile) return [];
  const text = await readFile(runner.rusageFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((l) => l.trim().split(' ').map(Number))
    .filter((f) => f.length === 4 && f.every(Number.isFinite))
    .map(([, user, sys, rss]) => ({ cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000, maxRssKiB: rss ?? 0 }));
}
