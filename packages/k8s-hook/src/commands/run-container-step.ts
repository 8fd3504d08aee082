import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { R } from '@zfs-runner-hooks/kube';
import { HookError, StepFailedError } from '../errors.js';
import { followStepPod } from '../kube/step-pod-run.js';
import { copyBetweenPods, copyFromPod, copyToPod, type PodTarget } from '../kube/tar.js';
import { waitForPod } from '../kube/wait-pod.js';
import { JOB_CONTAINER } from '../pod/containers.js';
import { hookLabels, runnerOwnerReference } from '../pod/labels.js';
import { parseCreateOptions } from '../pod/create-options.js';
import { mergePodTemplate, templatePatchesFor } from '../pod/merge-template.js';
import { objectName, UNIQUE_NAME } from '../pod/names.js';
import { checkOptions, templateRestrictions } from '../pod/option-limits.js';
import { buildRegistrySecret, distinctCredentials } from '../pod/registry-secret.js';
import { buildStepEnvSecret, buildStepPod, HELPER_WORK, INIT_CONTAINER, IO_CONTAINER, READY_MARKER, STEP_CONTAINER } from '../pod/step-pod.js';
import { loadPodTemplate, type PodTemplate } from '../pod/template.js';
import type { RunContainerStepArgs } from '../protocol/input.js';
import { writeResponse } from '../protocol/response.js';
import type { JobState } from '../protocol/state.js';
import { normalizeArgs } from '../workspace/env-file.js';
import { outermost, planStepMounts, stepPodWorkspace, type StepMount } from '../workspace/mounts.js';
import { CONTAINER_WORK, EXTERNALS_REL, FILE_COMMANDS_REL, relativeInside } from '../workspace/paths.js';
import type { CommandContext } from './context.js';

/** What a Secret key (and so an `envFrom` variable name) may be. */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** Only the parts of the hook template that apply to a step pod: metadata, spec, `$job`. */
function stepTemplate(t: PodTemplate): PodTemplate {
  return { ...t, ...(t.spec ? { spec: { ...t.spec, containers: (t.spec.containers ?? []).filter((c) => c.name === '$job') } } : {}) };
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
  const state = await ctx.states.open(rawState, responseFile);
  if (!args.image) {
    throw new HookError('UNSUPPORTED', `Container actions built from a Dockerfile are not supported by the Kubernetes hook (${args.dockerfile ?? 'no image given'})`, {
      hint: "Publish the action's image to a registry and use it with `uses: docker://<image>`.",
    });
  }
  const template = ctx.config.templatePath ? stepTemplate(await loadPodTemplate(ctx.config.templatePath)) : undefined;
  const options = parseCreateOptions(args.createOptions);
  checkOptions('container step', options, ctx.config.optionLimits, templateRestrictions(template, templatePatchesFor(template, { name: STEP_CONTAINER }, STEP_CONTAINER)));
  for (const i of options.ignored) ctx.log.warning(`container step options: ${i}`);
  const ns = state.namespace;
  const ws = state.workspace;
  const runner = state.runnerPod;
  const seed = ctx.newSeed();
  const podName = objectName(runner.name, 'step', seed);
  await ctx.states.markStep(podName, 'start');
  const envSecretName = objectName(runner.name, 'env', seed);

  const plan = planStepMounts([...args.systemMountVolumes, ...args.userMountVolumes], ws);
  for (const s of plan.skipped) if (!s.includes('docker.sock')) ctx.log.warning(`Container step volume ${s}`);
  const env: Record<string, string> = {};
  const skipped: string[] = [];
  for (const [k, v] of Object.entries(args.environmentVariables)) (SECRET_KEY.test(k) ? (env[k] = v) : skipped.push(k));
  if (skipped.length) ctx.log.warning(`Not passed to the step (a Kubernetes Secret key allows only letters, digits, '-', '_' and '.'): ${skipped.join(', ')}`);

  const helperImage = ws.mode === 'copy' ? (ctx.config.helperImage ?? state.jobImage) : undefined;
  if (ws.mode === 'copy' && !helperImage) throw new HookError('UNSUPPORTED', 'Copy mode container steps need ACTIONS_RUNNER_IMAGE (an image with sh and tar) when the job has no job container');
  const credentials = distinctCredentials([args.registry]);
  for (const c of credentials) ctx.log.mask(c.password);
  const regSecrets: V1Secret[] = credentials.map((credential, i) =>
    buildRegistrySecret({ name: objectName(runner.name, 'reg', `${seed}/${i}`), namespace: ns, labels: hookLabels(runner.name, 'registry'), ownerReferences: [runnerOwnerReference(runner)], credential }),
  );
  let pod = buildStepPod({
    name: podName,
    namespace: ns,
    runner,
    image: args.image,
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
    ctx.log.info(`Running ${args.image} in step pod ${podName}`);
    let rv = created.metadata?.resourceVersion;
    if (ws.mode === 'copy') rv = await copyIn(ctx, state, podName, plan.mounts, rv, mark);
    exitCode = await followStepPod(ctx, ns, podName, rv);
    mark('step terminated');
    if (ws.mode === 'copy') {
      await copyOut(ctx, state, podName, plan.mounts);
      mark('copied out');
    }
  } finally {
    const [, ...gone] = await Promise.all([
      ctx.client.delete({ type: R.pods, namespace: ns, name: podName }, { gracePeriodSeconds: 0 }).catch(() => false),
      ...secretNames.map((name) => ctx.client.delete({ type: R.secrets, namespace: ns, name }).then(() => name, () => undefined)),
    ]);
    // A Secret that could not be deleted stays in the journal: cleanup_job tries again.
    await ctx.states.markSecrets(gone.filter((n) => n !== undefined), 'deleted');
    mark('deleted');
  }

  const next: JobState = { ...state, steps: { run: state.steps.run + 1, failed: state.steps.failed + (exitCode === 0 ? 0 : 1) } };
  await writeResponse(responseFile, { state: await ctx.states.seal(next) });
  mark('answered');
  ctx.log.debug(`run_container_step timings (ms since the process started): ${marks.map(([what, at]) => `${what} ${Math.round(at)}`).join(', ')}`);
  if (exitCode === 0) await ctx.states.markStep(podName, 'ok');
  if (exitCode !== 0) throw new StepFailedError(exitCode, `The container action exited with code ${exitCode}`);
}

/** Records when a phase of the step ended (logged at debug level). */
type Mark = (what: string) => void;

/** Which step mounts come from the runner (file commands, externals) and which from the job pod. */
function splitSources(mounts: readonly StepMount[]): { local: string[]; fromJob: string[]; externals: string[] } {
  const rels = mounts.map((m) => m.rel);
  const isExternal = (r: string) => r === EXTERNALS_REL || r.startsWith(`${EXTERNALS_REL}/`);
  return {
    // The runner writes fresh file-command files before each step: they always come from it, and
    // are sent after the job pod's copy (which may hold an older `_temp`).
    local: rels.includes(FILE_COMMANDS_REL) ? [FILE_COMMANDS_REL] : [],
    externals: outermost(rels.filter(isExternal)),
    fromJob: outermost(rels.filter((r) => r !== FILE_COMMANDS_REL && !isExternal(r))),
  };
}

/**
 * Copy mode: fills the step pod's volume while its init container waits, then releases it. The
 * job pod's folders and the externals go in at the same time; the runner's file commands too,
 * unless a folder from the job pod holds them (then they follow it, so the fresh files win).
 */
async function copyIn(ctx: CommandContext, state: JobState, podName: string, mounts: readonly StepMount[], rv: string | undefined, mark: Mark): Promise<string | undefined> {
  const ns = state.namespace;
  const running = await waitForPod(ctx.client, { namespace: ns, name: podName, goal: { kind: 'running', container: INIT_CONTAINER }, resourceVersion: rv, timeoutSeconds: ctx.config.podTimeoutSeconds, unschedulableGraceSeconds: ctx.config.unschedulableGraceSeconds, log: ctx.log, signal: ctx.signal, what: 'Step pod' });
  mark('init running');
  const init: PodTarget = { namespace: ns, pod: podName, container: INIT_CONTAINER };
  const { local, fromJob, externals } = splitSources(mounts);
  const jobFolders = state.jobPod && state.hasJobContainer && fromJob.length ? fromJob : [];
  const fromJobCopy = jobFolders.length
    ? copyBetweenPods(ctx.client, { namespace: ns, pod: state.jobPod ?? '', container: JOB_CONTAINER }, CONTAINER_WORK, jobFolders, init, HELPER_WORK, ctx.signal)
    : Promise.resolve();
  const localAfterJob = local.some((l) => jobFolders.some((j) => j === '' || relativeInside(j, l) !== undefined));
  const ext = externals.map((r) => r.slice(EXTERNALS_REL.length + 1)).filter(Boolean);
  const copies = [
    fromJobCopy,
    (localAfterJob ? fromJobCopy : Promise.resolve()).then(() => copyToPod(ctx.client, init, state.workspace.workDir, local, HELPER_WORK, ctx.signal)),
    copyToPod(ctx.client, init, state.workspace.externalsDir, ext, `${HELPER_WORK}/${EXTERNALS_REL}`, ctx.signal),
  ];
  // Every copy is settled before the first failure is thrown: none is left writing into the pod.
  const failed = (await Promise.allSettled(copies)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  mark('copied in');
  const release = await ctx.client.exec({ ...init, command: ['sh', '-c', `: > ${HELPER_WORK}/${READY_MARKER}`], timeoutMs: 30_000 });
  if (release.exitCode !== 0) throw new HookError('COPY_FAILED', `Could not start step pod ${podName} after copying its inputs`);
  return running.metadata?.resourceVersion;
}

/**
 * Copy mode: brings the step's results back: file commands to the runner (through the copy-back
 * guard of `copyFromPod`), then workspace and home to the job pod, so a refused archive leaves the
 * job pod as it was.
 */
async function copyOut(ctx: CommandContext, state: JobState, podName: string, mounts: readonly StepMount[]): Promise<void> {
  const ns = state.namespace;
  const io: PodTarget = { namespace: ns, pod: podName, container: IO_CONTAINER };
  const { local, fromJob } = splitSources(mounts.filter((m) => !m.readOnly));
  await copyFromPod(ctx.client, io, { dir: HELPER_WORK, allowed: local, root: state.workspace.workDir, signal: ctx.signal });
  if (state.jobPod && state.hasJobContainer && fromJob.length) {
    await copyBetweenPods(ctx.client, io, HELPER_WORK, fromJob, { namespace: ns, pod: state.jobPod, container: JOB_CONTAINER }, CONTAINER_WORK, ctx.signal);
  }
}
