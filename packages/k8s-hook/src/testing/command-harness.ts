import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { ExecOptions } from '@zfs-runner-hooks/kube';
import { FakeKubeClient, type FakeObject } from '@zfs-runner-hooks/kube/testing';
import type { JobCache } from '../cache.js';
import type { CommandContext } from '../commands/context.js';
import { loadConfig } from '../config.js';
import { prepareJob } from '../commands/prepare-job.js';
import type { ImageContainer, MountVolume } from '../protocol/input.js';
import { JobStateStore } from '../protocol/state-store.js';
import { TextSink } from '../kube/tar.js';
import { memoryLogger } from './memory-logger.js';

export const RUNNER = 'runner-1';
export const RUNNER_UID = 'uid-runner-1';
export const NS = 'ci';

/** Options of `commandHarness`. */
export interface HarnessOptions {
  /** How the runner pod holds `_work`: on a claim (volume mode) or an emptyDir (copy mode). @default 'volume' */
  readonly mode?: 'volume' | 'copy';
  /** More hook environment (e.g. `ZRH_WORKSPACE_MODE`). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cache?: JobCache;
}

/** One command's run: how it ended, its context, what it logged and wrote. */
export interface CommandRun {
  /** What the command threw; undefined when it succeeded. */
  readonly error: unknown;
  readonly ctx: CommandContext;
  readonly log: ReturnType<typeof memoryLogger>;
  readonly stdout: TextSink;
}

/**
 * A runner without a cluster: a private temp folder holding `_work`, the externals and the state
 * folder, a `FakeKubeClient` holding the runner pod, and the hook's commands run in it as `main`
 * runs them (a fresh state store each, committed when the command succeeds).
 */
export interface Harness {
  readonly root: string;
  readonly work: string;
  readonly externals: string;
  readonly responseFile: string;
  readonly fake: FakeKubeClient;
  /** Runs one command as its own hook process would (committing its state when it succeeds, like `main`); never throws. */
  command(fn: (ctx: CommandContext) => Promise<void>, options?: { readonly signal?: AbortSignal }): Promise<CommandRun>;
  /** The response file's JSON. */
  response(): Promise<Record<string, any>>;
  /** The runner's `systemMountVolumes` of a job container. */
  mounts(): MountVolume[];
  cleanup(): Promise<void>;
}

export async function commandHarness(options: HarnessOptions = {}): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'zrh-command-'));
  const work = join(root, '_work');
  const externals = join(root, 'externals');
  const responseFile = join(work, '_temp', '_runner_hook_responses', 'response.json');
  await mkdir(join(work, '_temp', '_runner_hook_responses'), { recursive: true });
  await mkdir(join(externals, 'node20', 'bin'), { recursive: true });
  await writeFile(join(externals, 'node20', 'bin', 'node'), '');
  await writeFile(responseFile, '');
  const env = {
    ACTIONS_RUNNER_POD_NAME: RUNNER,
    ACTIONS_RUNNER_KUBERNETES_NAMESPACE: NS,
    ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: '30',
    ZRH_STATE_DIR: join(root, 'state'),
    ...options.env,
  };
  const config = loadConfig(env);
  const fake = new FakeKubeClient({ defaultNamespace: NS });
  const volume = (options.mode ?? 'volume') === 'volume' ? { persistentVolumeClaim: { claimName: `${RUNNER}-work` } } : { emptyDir: {} };
  const runnerPod: V1Pod = {
    metadata: { name: RUNNER, namespace: NS, uid: RUNNER_UID },
    spec: {
      nodeName: 'node-a',
      containers: [{ name: 'runner', image: 'ghcr.io/actions/actions-runner', volumeMounts: [{ name: 'work', mountPath: work }] }],
      volumes: [{ name: 'work', ...volume }],
    },
  };
  fake.put('pods', runnerPod as FakeObject, 'ADDED');
  let seeds = 0;
  const uid = process.getuid?.() ?? 0;
  return {
    root,
    work,
    externals,
    responseFile,
    fake,
    async command(fn, { signal = new AbortController().signal } = {}) {
      const log = memoryLogger();
      const stdout = new TextSink(1 << 20);
      const states = new JobStateStore({ dir: env.ZRH_STATE_DIR, uid, runnerPodName: RUNNER, namespace: NS, workspaceMode: config.workspaceMode });
      const ctx: CommandContext = {
        client: fake,
        config,
        log,
        signal,
        cache: options.cache,
        states,
        env,
        nodeExecPath: join(externals, 'node20', 'bin', 'node'),
        newSeed: () => `seed-${++seeds}`,
        stdout,
        stderr: stdout,
      };
      try {
        await fn(ctx);
        await states.commit();
        return { error: undefined, ctx, log, stdout };
      } catch (error) {
        return { error: error ?? new Error('thrown: undefined'), ctx, log, stdout };
      }
    },
    response: async () => JSON.parse(await readFile(responseFile, 'utf8')) as Record<string, any>,
    mounts: () => [
      { sourceVolumePath: work, targetVolumePath: '/__w', readOnly: false },
      { sourceVolumePath: externals, targetVolumePath: '/__e', readOnly: true },
    ],
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** An exec matcher for the commands one builder makes (same `sh -c` script). */
export function sameScript(command: readonly string[]): (o: ExecOptions) => boolean {
  return (o) => o.command[0] === 'sh' && o.command[2] === command[2];
}

/** The job container of the prepare_job the command tests start from (`over` replaces fields). */
export function jobContainer(h: Harness, over: Partial<ImageContainer> = {}): ImageContainer {
  return {
    image: 'node:20',
    entryPointArgs: [],
    workingDirectory: '/__w/repo/repo',
    environmentVariables: {},
    portMappings: [],
    systemMountVolumes: h.mounts(),
    userMountVolumes: [],
    ...over,
  };
}

/**
 * Runs prepare_job of a job with `container` (no services) and returns its state as the runner
 * holds it (through JSON).
 */
export async function preparedState(h: Harness, container: ImageContainer): Promise<Record<string, any>> {
  const run = await h.command((ctx) => prepareJob(ctx, { container, services: [] }, h.responseFile));
  if (run.error) throw run.error;
  return JSON.parse(JSON.stringify((await h.response()).state)) as Record<string, any>;
}
