import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { R } from '@zfs-runner-hooks/kube';
import type { CachePlan, CacheState } from '../cache.js';
import { HookError } from '../errors.js';
import { isAlpineContainer } from '../kube/pod-os.js';
import type { PodTarget } from '../kube/tar.js';
import { waitForPod } from '../kube/wait-pod.js';
import { JOB_CONTAINER } from '../pod/containers.js';
import { parseCreateOptions } from '../pod/create-options.js';
import { buildJobPod, type ContainerParts } from '../pod/job-pod.js';
import type { RunnerPodRef } from '../pod/labels.js';
import { mergePodTemplate, templatePatchesFor, type TemplateTarget } from '../pod/merge-template.js';
import { objectName, serviceContainerNames, UNIQUE_NAME } from '../pod/names.js';
import { checkOptions, templateRestrictions } from '../pod/option-limits.js';
import { parsePortMappings, portsContext } from '../pod/ports.js';
import { buildRegistrySecrets } from '../pod/registry-secret.js';
import { loadPodTemplate, type PodTemplate } from '../pod/template.js';
import type { ImageContainer, PrepareJobArgs, Registry } from '../protocol/input.js';
import { writeResponse, type ContainerContext } from '../protocol/response.js';
import type { JobState, WorkspaceState } from '../protocol/state.js';
import { chooseWorkspaceMode } from '../workspace/mode.js';
import { planWorkspaceState, workspaceFor, type Workspace } from '../workspace/modes/index.js';
import { jobPodWorkspace, planStepMounts, stepPodWorkspace, type WorkspaceFacts } from '../workspace/mounts.js';
import { resolveRunnerDirs, type RunnerDirs } from '../workspace/paths.js';
import { jobNamespace, type CommandContext } from './context.js';
import { InputProblems } from './input-problems.js';

/** Reads the runner pod: the owner of everything the job creates, and where `_work` lives. */
async function readRunnerPod(ctx: CommandContext, namespace: string): Promise<V1Pod> {
  const name = ctx.config.runnerPodName;
  const pod = await ctx.client.find<V1Pod>({ type: R.pods, namespace, name });
  if (!pod?.metadata?.uid) {
    throw new HookError('POD_FAILED', `Runner pod "${name}" was not found in namespace "${namespace}"`, {
      hint: 'ACTIONS_RUNNER_POD_NAME must name the pod the runner runs in, and ACTIONS_RUNNER_KUBERNETES_NAMESPACE its namespace.',
    });
  }
  return pod;
}

/** Decides the workspace mode and opens the job's workspace in it (the mode plans its state). */
async function planWorkspace(ctx: CommandContext, namespace: string, runnerPod: V1Pod, dirs: RunnerDirs): Promise<Workspace> {
  const choice = chooseWorkspaceMode({
    runnerPod,
    workDir: dirs.workDir,
    configured: ctx.config.workspaceMode,
    ...(ctx.config.claimName ? { claimOverride: ctx.config.claimName } : {}),
  });
  ctx.log.info(`Workspace mode: ${choice.mode} (${choice.reason})`);
  return workspaceFor(ctx, await planWorkspaceState(ctx, { choice, dirs, namespace, runnerPod }));
}

/** Where a container's options are checked: the runner's limits and the template's restrictions. */
interface OptionRules {
  readonly ctx: CommandContext;
  readonly template: PodTemplate | undefined;
  readonly target: TemplateTarget;
}

/** A container of the job, its ports and options checked (offline). */
interface CheckedContainer {
  readonly container: ImageContainer;
  readonly what: string;
  readonly ports: ContainerParts['ports'];
  readonly options: ContainerParts['options'];
}

/** Checks a container's ports and options; throws the first problem of each kind into `problems`. */
function checkContainer(c: ImageContainer, what: string, warn: (m: string) => void, rules: OptionRules, problems: InputProblems): CheckedContainer | undefined {
  const ports = problems.check(() => {
    const parsed = parsePortMappings(c.portMappings);
    if (parsed.problems.length) {
      throw new HookError('INPUT_INVALID', `Invalid ports of ${what}:\n  ${parsed.problems.join('\n  ')}`, {
        hint: 'Use the docker form [hostPort:]containerPort[/protocol].',
      });
    }
    return parsed.ports;
  });
  const options = problems.check(() => {
    const parsed = parseCreateOptions(c.createOptions);
    checkOptions(what, parsed, rules.ctx.config.optionLimits, templateRestrictions(rules.template, templatePatchesFor(rules.template, rules.target)));
    for (const i of parsed.ignored) warn(`${what} options: ${i}`);
    return parsed;
  });
  return ports && options ? { container: c, what, ports, options } : undefined;
}

/** A checked container with its user volumes, once the workspace is known. */
function containerParts(checked: CheckedContainer, ws: WorkspaceFacts, dirs: RunnerDirs, warn: (m: string) => void): ContainerParts {
  const user = planStepMounts(checked.container.userMountVolumes, dirs);
  for (const s of user.skipped) warn(`${checked.what} volume ${s}; add other volumes with the hook template`);
  return { container: checked.container, ports: checked.ports, options: checked.options, userMounts: stepPodWorkspace(ws, user).mounts };
}

async function planCache(
  ctx: CommandContext,
  namespace: string,
  runner: RunnerPodRef & { node: string | undefined },
  requiredNode: string | undefined,
  args: PrepareJobArgs,
): Promise<CachePlan | undefined> {
  if (!ctx.cache || !args.container) return undefined;
  return ctx.log.group('Build cache', async () =>
    ctx.cache?.plan({
      client: ctx.client,
      namespace,
      runnerPod: runner,
      requiredNode,
      containerEnv: args.container?.environmentVariables ?? {},
      processEnv: ctx.env,
      log: ctx.log,
      signal: ctx.signal,
    }),
  );
}

/**
 * prepare_job: creates the job pod (job container + services as sidecars), its registry secrets
 * and the cache's objects, waits until it is ready, brings the workspace in (copy mode) and
 * answers with the containers' context, `isAlpine` and the job state.
 */
export async function prepareJob(ctx: CommandContext, args: PrepareJobArgs, responseFile: string): Promise<void> {
  const namespace = jobNamespace(ctx);
  const warn = (m: string) => ctx.log.warning(m);
  if (!args.container && args.services.length === 0) throw new HookError('INPUT_INVALID', 'prepare_job has neither a job container nor services');

  const mark: [string, number][] = [['start', performance.now()]];
  const dirs = resolveRunnerDirs(args.container?.systemMountVolumes ?? [], responseFile, ctx.nodeExecPath);
  if (!dirs)
    throw new HookError('INPUT_INVALID', `Cannot find the runner's _work directory (no /__w mount and response file ${responseFile} is not in _work/_temp)`);
  const template = ctx.config.templatePath ? await loadPodTemplate(ctx.config.templatePath) : undefined;

  // Every container's ports and options, and the cache settings, are checked before the first
  // request (and so before anything, the cache's clone included, is created); all problems at once.
  const problems = new InputProblems();
  const checkedJob = args.container
    ? checkContainer(args.container, 'job container', warn, { ctx, template, target: { name: JOB_CONTAINER } }, problems)
    : undefined;
  const serviceNames = serviceContainerNames(args.services.map((s) => s.image));
  const checkedServices = args.services.map((s, i) => {
    const name = serviceNames[i] as string;
    return { name, checked: checkContainer(s, `service ${name}`, warn, { ctx, template, target: { name, image: s.image } }, problems) };
  });
  if (ctx.cache && args.container) {
    const cache = ctx.cache;
    const containerEnv = args.container.environmentVariables;
    await problems.checkAsync(() => cache.check({ namespace, containerEnv, processEnv: ctx.env }));
  }
  problems.throwIfAny('prepare_job');

  const runnerPod = await readRunnerPod(ctx, namespace);
  mark.push(['runner pod read', performance.now()]);
  const runner = { name: ctx.config.runnerPodName, uid: runnerPod.metadata?.uid ?? '', node: runnerPod.spec?.nodeName };
  // A fresh state key: no state of an earlier job of this runner is accepted from here on.
  await ctx.states.startJob(dirs.workDir);
  const ws = await planWorkspace(ctx, namespace, runnerPod, dirs);
  const job = checkedJob && containerParts({ ...checkedJob, container: ws.jobContainer(checkedJob.container) }, ws.state, dirs, warn);
  const services = checkedServices.flatMap(({ name, checked }) => (checked ? [{ name, ...containerParts(checked, ws.state, dirs, warn) }] : []));
  const cache = await planCache(ctx, namespace, runner, ws.state.pinnedNode, args);
  if (cache) mark.push(['clone planned', performance.now()]);

  const seed = ctx.newSeed();
  const jobPodName = objectName(runner.name, 'job', seed);
  const secrets = registrySecrets(ctx, namespace, runner, seed, [args.container?.registry, ...args.services.map((s) => s.registry)]);
  let pod = buildJobPod({
    name: jobPodName,
    namespace,
    runner,
    ...(job ? { job } : {}),
    services,
    workspace: jobPodWorkspace(ws.state),
    pullSecrets: secrets.map((s) => s.metadata?.name ?? ''),
    ...(cache
      ? {
          additions: {
            volumes: cache.volumes,
            volumeMounts: cache.volumeMounts,
            env: cache.env,
            ...(cache.podSecurityContext ? { podSecurityContext: cache.podSecurityContext } : {}),
          },
        }
      : {}),
  });
  if (template) {
    const merged = mergePodTemplate(pod, template, { serviceImages: Object.fromEntries(services.map((s) => [s.name, s.container.image])) });
    for (const w of merged.warnings) warn(w);
    pod = merged.pod;
  }

  const started = await startJobPod(ctx, { namespace, name: jobPodName, pod, secrets, ws, cache, mark });
  mark.push(['pod ready', performance.now()]);
  ctx.log.info(`Job pod ${jobPodName} is ready${started.ready.spec?.nodeName ? ` on node ${started.ready.spec.nodeName}` : ''}`);
  const jobContainer = { namespace, pod: jobPodName, container: JOB_CONTAINER };
  const filled = job
    ? await fillJobContainer(ctx, ws, jobContainer, started.ready, args.container?.workingDirectory)
    : { workspace: ws.state, isAlpine: false };

  const state: JobState = {
    version: 1,
    namespace,
    jobPod: jobPodName,
    ...(args.container ? { jobImage: args.container.image } : {}),
    hasJobContainer: job !== undefined,
    secrets: secrets.map((s) => s.metadata?.name ?? ''),
    runnerPod: { name: runner.name, uid: runner.uid, ...(runner.node ? { node: runner.node } : {}) },
    workspace: filled.workspace,
    steps: { run: 0, failed: 0 },
    ...(cache ? { clone: started.clone } : {}),
  };
  const ctxOf = (id: string, ports: ContainerParts['ports']): ContainerContext => ({ id, network: jobPodName, ports: portsContext(ports) });
  await writeResponse(responseFile, {
    state: await ctx.states.seal(state),
    context: {
      ...(job ? { container: ctxOf(jobPodName, job.ports) } : {}),
      services: services.map((s) => ctxOf(s.name, s.ports)),
    },
    isAlpine: filled.isAlpine,
  });
  mark.push(['answered', performance.now()]);
  ctx.log.debug(`prepare_job timings (ms since the process started): ${mark.map(([what, at]) => `${what} ${Math.round(at)}`).join(', ')}`);
}

/** The registry secrets of the job's images, one per distinct credential; the passwords are masked. */
function registrySecrets(
  ctx: CommandContext,
  namespace: string,
  runner: RunnerPodRef,
  seed: string,
  registries: readonly (Registry | undefined)[],
): V1Secret[] {
  const { secrets, passwords } = buildRegistrySecrets({ runner, namespace, seed, registries });
  for (const p of passwords) ctx.log.mask(p);
  return secrets;
}

/** What `startJobPod` creates, and where it records the time of each phase. */
interface JobPodStart {
  readonly namespace: string;
  readonly name: string;
  readonly pod: V1Pod;
  readonly secrets: readonly V1Secret[];
  readonly ws: Workspace;
  readonly cache: CachePlan | undefined;
  readonly mark: [string, number][];
}

/** The ready job pod, and the cache state to record (the clone's, once the pod owns it). */
interface StartedJobPod {
  readonly ready: V1Pod;
  readonly clone: CacheState | undefined;
}

/**
 * Readies the runner side of the workspace, creates the registry secrets and the job pod, hands
 * the clone to the pod while it starts and waits until it is ready. On failure the secrets are
 * deleted again (no state reaches cleanup_job).
 */
async function startJobPod(ctx: CommandContext, start: JobPodStart): Promise<StartedJobPod> {
  const { namespace, name, pod, secrets, ws, cache, mark } = start;
  const secretNames = secrets.map((s) => s.metadata?.name ?? '');
  return ctx.log
    .group(`Creating job pod ${name}`, async () => {
      await ws.prepareRunnerSide();
      await ctx.states.markSecrets(secretNames, 'created');
      await Promise.all(secrets.map((s) => ctx.client.create({ type: R.secrets, namespace }, s, undefined, UNIQUE_NAME)));
      ctx.log.debug(`Job pod spec: ${JSON.stringify(pod)}`);
      const p = await ctx.client.create<V1Pod>({ type: R.pods, namespace }, pod);
      mark.push(['pod created', performance.now()]);
      // The clone changes owner (runner pod → job pod) while the pod starts.
      const handOver = cache?.afterPodCreated(p).then((clone) => {
        mark.push(['clone handed to the pod', performance.now()]);
        return clone;
      });
      const [ready, clone] = await Promise.all([
        waitForPod(ctx.client, {
          namespace,
          name,
          goal: { kind: 'ready' },
          resourceVersion: p.metadata?.resourceVersion,
          timeoutSeconds: ctx.config.podTimeoutSeconds,
          unschedulableGraceSeconds: ctx.config.unschedulableGraceSeconds,
          log: ctx.log,
          signal: ctx.signal,
          what: 'Job pod',
        }),
        handOver,
      ]);
      return { ready, clone };
    })
    .catch(async (err: unknown) => {
      // No state reaches cleanup_job after a failed prepare_job, and the hook may not list Secrets:
      // the registry secrets go now (else only with the runner pod that owns them).
      const gone = await Promise.all(
        secretNames.map((secret) =>
          ctx.client.delete({ type: R.secrets, namespace, name: secret }).then(
            () => secret,
            () => undefined,
          ),
        ),
      );
      await ctx.states
        .markSecrets(
          gone.filter((n) => n !== undefined),
          'deleted',
        )
        .catch(() => undefined);
      throw err;
    });
}

/** Once the job pod is ready: whether its job container is Alpine, while the workspace goes in. */
async function fillJobContainer(
  ctx: CommandContext,
  ws: Workspace,
  target: PodTarget,
  pod: V1Pod,
  workingDirectory: string | undefined,
): Promise<{ workspace: WorkspaceState; isAlpine: boolean }> {
  const command = pod.spec?.containers.find((c) => c.name === JOB_CONTAINER)?.command;
  const alpine = isAlpineContainer(ctx.client, target, command, ctx.signal);
  alpine.catch(() => undefined); // awaited below; a failing copy must not leave it unhandled
  const workspace = await ws.fillJobPod(target, workingDirectory);
  return { workspace, isAlpine: await alpine };
}
