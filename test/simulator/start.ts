import { access, chmod, chown, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoreV1Api, type KubeConfig, type V1PersistentVolume } from '@kubernetes/client-node';
import { buildHookProcessEnv } from './hook-env.js';
import { DEFAULT_HOOK_PATH, RunnerSimulator, type RunnerSimulatorOptions } from './runner.js';
import { coreV1RunnerPods, createRunnerPod, deleteRunnerPod, hostPathOfVolume, type Placement, type RunnerPodInfo, type WorkMode } from './runner-pod.js';
import { defaultJobFacts, type JobFacts } from './step-env.js';
import { layOutWork, type WorkLayout } from './work-layout.js';

/** Everything `startRunnerSimulator` needs. */
export interface StartRunnerOptions {
  /** Admin identity: creates and deletes the runner pod (never given to the hook). */
  readonly admin: KubeConfig;
  /** The hook's least-privilege identity: a KubeConfig or the path of a kubeconfig file. */
  readonly hookKubeConfig: KubeConfig | string;
  readonly namespace: string;
  /** `volume`: the runner pod has an ephemeral work claim and `_work` is its host folder; `copy`: no work volume, `_work` is a temp folder. */
  readonly mode: WorkMode;
  /** @default 'octo-org/hello' */
  readonly repository?: string;
  /** @default 'csi-hostpath' */
  readonly storageClassName?: string;
  /** Host folder of a PersistentVolume. @default its `spec.csi.volumeAttributes.hostPath` */
  readonly volumeDir?: (pv: V1PersistentVolume) => string;
  /** @default 'any' */
  readonly placement?: Placement;
  /** @default 'zrh.local/busybox:1' */
  readonly runnerImage?: string;
  /** The hook bundle, installed as `<root>/k8s/index.js`. @default DEFAULT_HOOK_PATH */
  readonly hookPath?: string;
  /** Extra env of the runner pod, which the hook process also gets (e.g. `ZRH_*`). */
  readonly runnerEnv?: Readonly<Record<string, string>>;
  /** Workflow-level `env:` of every step. */
  readonly env?: Readonly<Record<string, string>>;
  readonly facts?: Partial<JobFacts>;
  readonly onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Owner of the files under `_work`. @default the runner user (1001:123) */
  readonly owner?: { readonly uid: number; readonly gid: number } | null;
  /**
   * Run the hook process as this user, like the runner (uid 1001) does; its HOME and kubeconfig
   * are then given to that user. @default the current user
   */
  readonly hookUser?: { readonly uid: number; readonly gid: number };
  /** Scheduling priority of the hook processes (see `HookProcessSpec.priority`). @default inherited */
  readonly hookPriority?: number;
  /** How long to wait for the runner pod. @default 120_000 */
  readonly timeoutMs?: number;
  /** See `RunnerSimulatorOptions.beforeReadingResponse`. */
  readonly beforeReadingResponse?: RunnerSimulatorOptions['beforeReadingResponse'];
}

/** A started simulated runner: the simulator plus its runner pod and host folders. */
export interface StartedRunner {
  readonly simulator: RunnerSimulator;
  readonly pod: RunnerPodInfo;
  readonly layout: WorkLayout;
  /**
   * The runner's home (plays `/home/runner`): `_work`, `externals`, the hook's kubeconfig. In
   * volume mode `_work` is a symlink to the work claim's host folder, and the runner pod mounts
   * the claim at this same path, so the runner pod's spec and the hook's paths agree.
   */
  readonly root: string;
  /** The folder holding `_work`'s files (the claim's host folder in volume mode). */
  readonly workDataDir: string;
  /** The hook's kubeconfig file. */
  readonly kubeconfigPath: string;
  /** Deletes the runner pod and the temp folder. */
  dispose(): Promise<void>;
}

/**
 * Sets up one runner the way ARC and the runner would: creates the runner pod (with its work
 * claim in volume mode, mounted at the runner's `_work` path), lays out `_work` (backed by the
 * claim's host folder, or a plain folder in copy mode) and externals next to it, writes the
 * hook's kubeconfig, and
 * returns a `RunnerSimulator` whose hook processes get the runner pod's environment.
 */
export async function startRunnerSimulator(options: StartRunnerOptions): Promise<StartedRunner> {
  const core = options.admin.makeApiClient(CoreV1Api);
  const root = await mkdtemp(join(tmpdir(), 'zrh-runner-'));
  let pod: RunnerPodInfo | undefined;
  const dispose = async () => {
    if (pod) await deleteRunnerPod(core, pod);
    await rm(root, { recursive: true, force: true });
  };
  try {
    pod = await createRunnerPod(
      coreV1RunnerPods(core),
      {
        namespace: options.namespace,
        mode: options.mode,
        ...(options.storageClassName ? { storageClassName: options.storageClassName } : {}),
        ...(options.placement ? { placement: options.placement } : {}),
        ...(options.runnerImage ? { image: options.runnerImage } : {}),
        ...(options.runnerEnv ? { env: options.runnerEnv } : {}),
        workPath: join(root, '_work'),
      },
      options.timeoutMs,
    );
    const workDataDir = await resolveWorkDir(options, pod, root);
    const workDir = join(root, '_work');
    if (workDataDir !== workDir) await symlink(workDataDir, workDir);
    const repository = options.repository ?? 'octo-org/hello';
    const layout = await layOutWork({
      workDir,
      externalsDir: join(root, 'externals'),
      repository,
      ...(options.owner !== undefined ? { owner: options.owner } : {}),
    });
    const kubeconfigPath = await writeHookKubeconfig(root, options.hookKubeConfig);
    const home = root;
    if (options.hookUser) {
      const { uid, gid } = options.hookUser;
      await chmod(root, 0o755);
      await chown(home, uid, gid);
      if (kubeconfigPath.startsWith(`${root}/`)) await chown(kubeconfigPath, uid, gid);
    }
    const facts = { ...defaultJobFacts(repository, pod.name), ...options.facts };
    // Installed like the runner image ships it (/home/runner/k8s/index.js): a lone file, no
    // package.json or node_modules beside it, run by the runner's externals node.
    const hookPath = join(root, 'k8s', 'index.js');
    await mkdir(dirname(hookPath), { recursive: true });
    await copyFile(options.hookPath ?? DEFAULT_HOOK_PATH, hookPath);
    const simulator = new RunnerSimulator({
      layout,
      facts,
      hookPath,
      node: join(layout.externalsDir, 'node20', 'bin', 'node'),
      ...(options.env ? { env: options.env } : {}),
      ...(options.onOutput ? { onOutput: options.onOutput } : {}),
      ...(options.hookUser ? { hookUser: options.hookUser } : {}),
      ...(options.hookPriority !== undefined ? { hookPriority: options.hookPriority } : {}),
      ...(options.beforeReadingResponse ? { beforeReadingResponse: options.beforeReadingResponse } : {}),
      hookEnv: buildHookProcessEnv({
        layout,
        facts,
        podName: pod.name,
        namespace: options.namespace,
        kubeconfig: kubeconfigPath,
        hookPath,
        home,
        path: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
        ...(options.runnerEnv ? { extra: options.runnerEnv } : {}),
      }),
      onDispose: dispose,
    });
    return { simulator, pod, layout, root, workDataDir, kubeconfigPath, dispose };
  } catch (error) {
    await dispose().catch(() => undefined);
    throw error;
  }
}

async function resolveWorkDir(options: StartRunnerOptions, pod: RunnerPodInfo, root: string): Promise<string> {
  if (pod.mode === 'copy') return join(root, '_work');
  const pv = pod.volume;
  if (!pv) throw new Error(`runner pod ${pod.namespace}/${pod.name} has no bound work volume`);
  const dir = options.volumeDir ? options.volumeDir(pv) : hostPathOfVolume(pv);
  if (!dir) {
    throw new Error(`PersistentVolume ${pv.metadata?.name ?? '?'} has no spec.csi.volumeAttributes.hostPath; pass volumeDir to find its host folder`);
  }
  await access(dir).catch((cause: unknown) => {
    throw new Error(`host folder ${dir} of PersistentVolume ${pv.metadata?.name ?? '?'} is not accessible`, { cause });
  });
  return dir;
}

async function writeHookKubeconfig(root: string, kubeconfig: KubeConfig | string): Promise<string> {
  if (typeof kubeconfig === 'string') return kubeconfig;
  const path = join(root, 'hook.kubeconfig');
  await writeFile(path, kubeconfig.exportConfig(), { mode: 0o600 });
  return path;
}
