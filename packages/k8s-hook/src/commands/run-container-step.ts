import type { V1Pod } from '@kubernetes/client-node';
import { R } from '@zfs-runner-hooks/kube';
import { HookError, StepFailedError } from '../errors.js';
import { followStepPod } from '../kube/step-pod-run.js';
import { JOB_CONTAINER } from '../pod/containers.js';
import { parseCreateOptions, type CreateOptions } from '../pod/create-options.js';
import { mergePodTemplate, templatePatchesFor } from '../pod/merge-template.js';
import { objectName, UNIQUE_NAME } from '../pod/names.js';
import { checkOptions, templateRestrictions } from '../pod/option-limits.js';
import { buildRegistrySecrets } from '../pod/registry-secret.js';
import { buildStepEnvSecret, buildStepPod, STEP_CONTAINER } from '../pod/step-pod.js';
import { loadPodTemplate, type PodTemplate } from '../pod/template.js';
import type { RunContainerStepArgs } from '../protocol/input.js';
import { writeResponse } from '../protocol/response.js';
import type { JobState } from '../protocol/state.js';
import { normalizeArgs } from '../workspace/env-file.js';
import { workspaceFor, type Mark, type StepPodRef } from '../workspace/modes/index.js';
import { planStepMounts, stepPodWorkspace } from '../workspace/mounts.js';
import type { CommandContext } from './context.js';
import { InputProblems } from './input-problems.js';

/** What a Secret key (and so an `envFrom` variable name) may be. */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** Only the parts of the hook template that apply to a step pod: metadata, spec, `$job`. */
function stepTemplate(t: PodTemplate): PodTemplate {
  return { ...t, ...(t.spec ? { spec: { ...t.spec, containers: (t.spec.containers ?? []).filter((c) => c.name === '$job') } } : {}) };
}

/** What run_container_step takes from its input once every offline check passed. */
interface CheckedStep {
  readonly state: JobState;
  readonly image: string;
  readonly template: PodTemplate | undefined;
  readonly options: CreateOptions;
}

/**
 * Checks all that can be checked before the first request: the job state, the image (an action
 * built from a Dockerfile is refused), the hook template and the step's options. Every problem is
 * reported at once.
 */
async function checkStep(ctx: CommandContext, args: RunContainerStepArgs, rawState: unknown, responseFile: string): Promise<CheckedStep> {
  const problems = new InputProblems();
  let state: JobState | undefined;
  await problems.checkAsync(async () => {
    state = await ctx.states.open(rawState, responseFile);
  });
  const image = problems.check(() => {
    if (args.image) return args.image;
    throw new HookError(
      'UNSUPPORTED',
      `Container actions built from a Dockerfile are not supported by the Kubernetes hook (${args.dockerfile ?? 'no image given'})`,
      {
        hint: "Publish the action's image to a registry and use it with `uses: docker://<image>`.",
      },
    );
  });
  let template: PodTemplate | undefined;
  const templatePath = ctx.config.templatePath;
  if (templatePath) {
    await problems.checkAsync(async () => {
      template = stepTemplate(await loadPodTemplate(templatePath));
    });
  }
  const options = problems.check(() => {
    const parsed = parseCreateOptions(args.createOptions);
    const patches = templatePatchesFor(template, { name: STEP_CONTAINER }, STEP_CONTAINER);
    checkOptions('container step', parsed, ctx.config.optionLimits, templateRestrictions(template, patches));
    for (const i of parsed.ignored) ctx.log.warning(`container step options: ${i}`);
    return parsed;
  });
  problems.throwIfAny('run_container_step');
  if (!state || !image || !options) throw new Error('run_container_step: an input check failed without reporting a problem');
  return { state, image, template, options };
}

/**
 * run_container_step: runs a container action in its own pod (the image's ENTRYPOINT unless the
 * action names one, env from a Secret), streams its log, brings workspace changes and file
 * commands back (copy mode) and fails with the container's exit code. The pod and its secrets are
 * deleted afterwards. Dockerfile actions are not supported.
 */
export async function runContainerStep(ctx: CommandContext, args: RunContainerStepArgs, rawState: unknown, responseFile: string): Promise<void> {
  const marks: [string, number][] = [['start', performance.now()]];
  const mark: Mark = (what) => marks.push([what, performance.now()]);
  const { state, image, template, options } = await checkStep(ctx, args, rawState, responseFile);
  const ns = state.namespace;
  const ws = state.workspace;
  const workspace = workspaceFor(ctx, ws);
  const runner = state.runnerPod;
  const seed = ctx.newSeed();
  const podName = objectName(runner.name, 'step', seed);
  await ctx.states.markStep(podName, 'start');
  const envSecretName = objectName(runner.name, 'env', seed);

  const plan = planStepMounts([...args.systemMountVolumes, ...args.userMountVolumes], ws);
  for (const s of plan.skipped) if (!s.includes('docker.sock')) ctx.log.warning(`Container step volume ${s}`);
  const env: Record<string, string> = {};
  const skipped: string[] = [];
  for (const [k, v] of Object.entries(args.environmentVariables)) {
    if (SECRET_KEY.test(k)) env[k] = v;
    else skipped.push(k);
  }
  if (skipped.length) ctx.log.warning(`Not passed to the step (a Kubernetes Secret key allows only letters, digits, '-', '_' and '.'): ${skipped.join(', ')}`);

  const helperImage = workspace.containerStepHelperImage(state.jobImage);
  const { secrets: regSecrets, passwords } = buildRegistrySecrets({ runner, namespace: ns, seed, registries: [args.registry] });
  for (const p of passwords) ctx.log.mask(p);
  let pod = buildStepPod({
    name: podName,
    namespace: ns,
    runner,
    image,
    entryPoint: args.entryPoint,
    args: normalizeArgs(args.entryPointArgs),
    workingDir: args.workingDirectory ?? '/github/workspace',
    envSecretName,
    workspace: stepPodWorkspace(ws, plan),
    pullSecrets: regSecrets.map((s) => s.metadata?.name ?? ''),
    helperImage,
    options,
  });
  if (template) pod = mergePodTemplate(pod, template, { serviceImages: {}, jobContainer: STEP_CONTAINER }).pod;

  const secretNames = [envSecretName, ...regSecrets.map((s) => s.metadata?.name ?? '')];
  let exitCode: number;
  await ctx.states.markSecrets(secretNames, 'created');
  try {
    await Promise.all([
      ctx.client.create({ type: R.secrets, namespace: ns }, buildStepEnvSecret({ name: envSecretName, namespace: ns, runner, env }), undefined, UNIQUE_NAME),
      ...regSecrets.map((s) => ctx.client.create({ type: R.secrets, namespace: ns }, s, undefined, UNIQUE_NAME)),
    ]);
    const created = await ctx.client.create<V1Pod>({ type: R.pods, namespace: ns }, pod);
    mark('pod created');
    ctx.log.info(`Running ${image} in step pod ${podName}`);
    const step: StepPodRef = {
      namespace: ns,
      pod: podName,
      jobContainer: state.jobPod && state.hasJobContainer ? { namespace: ns, pod: state.jobPod, container: JOB_CONTAINER } : undefined,
    };
    const rv = created.metadata?.resourceVersion;
    await workspace.fillStepPod(step, plan.mounts, rv, mark);
    exitCode = await followStepPod(ctx, ns, podName, rv, mark);
    mark('step terminated');
    await workspace.collectStepPod(step, plan.mounts, mark);
  } finally {
    const [, ...gone] = await Promise.all([
      ctx.client.delete({ type: R.pods, namespace: ns, name: podName }, { gracePeriodSeconds: 0 }).catch(() => false),
      ...secretNames.map((name) =>
        ctx.client.delete({ type: R.secrets, namespace: ns, name }).then(
          () => name,
          () => undefined,
        ),
      ),
    ]);
    // A Secret that could not be deleted stays in the journal: cleanup_job tries again.
    await ctx.states.markSecrets(
      gone.filter((n) => n !== undefined),
      'deleted',
    );
    mark('deleted');
  }

  const next: JobState = { ...state, steps: { run: state.steps.run + 1, failed: state.steps.failed + (exitCode === 0 ? 0 : 1) } };
  await writeResponse(responseFile, { state: await ctx.states.seal(next) });
  mark('answered');
  ctx.log.debug(`run_container_step timings (ms since the process started): ${marks.map(([what, at]) => `${what} ${Math.round(at)}`).join(', ')}`);
  if (exitCode === 0) await ctx.states.markStep(podName, 'ok');
  if (exitCode !== 0) throw new StepFailedError(exitCode, `The container action exited with code ${exitCode}`);
}
