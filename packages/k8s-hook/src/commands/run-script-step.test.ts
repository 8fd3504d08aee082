import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { killStepCommand, scriptStepCommand, stepProcessesCommand } from '../workspace/env-file.js';
import { tarCommand, untarCommand } from '../kube/tar.js';
import type { RunScriptStepArgs } from '../protocol/input.js';
import { commandHarness, jobContainer, preparedState, sameScript, type Harness, type HarnessOptions } from '../testing/command-harness.js';
import { kubelet } from '../testing/kubelet.js';
import { runScriptStep } from './run-script-step.js';

let h: Harness;
afterEach(async () => {
  vi.useRealTimers();
  await h?.cleanup();
});

/** A job prepared in `mode`; its state as the runner holds it. */
async function prepared(options: HarnessOptions = {}): Promise<Record<string, any>> {
  h = await commandHarness(options);
  h.fake.reactors.push(kubelet());
  h.fake.onLogs('job', { text: 'zrh-os: other\n' });
  if (options.mode === 'copy') h.fake.onExec(sameScript(untarCommand('/')), { exitCode: 0 }, { times: 1 }); // the workspace into the job pod
  const state = await preparedState(h, jobContainer(h));
  h.fake.calls.length = 0;
  return state;
}

const args: RunScriptStepArgs = {
  entryPoint: 'bash',
  entryPointArgs: ['-e', '/__w/_temp/step.sh'],
  environmentVariables: { CI: 'true' },
  prependPath: [],
  workingDirectory: '/__w/repo/repo',
};
const step = (state: unknown, a: RunScriptStepArgs = args, signal?: AbortSignal) =>
  h.command((ctx) => runScriptStep(ctx, a, state, h.responseFile), signal ? { signal } : {});
/** A JavaScript action's step: the runner's node from the externals. */
const nodeStep: RunScriptStepArgs = { ...args, entryPoint: '/__e/node20/bin/node', entryPointArgs: ['/__w/_temp/action.js'] };
const isStep = sameScript(scriptStepCommand({ untarDir: undefined, envFile: '', pidFile: '', workingDirectory: '', entryPoint: '', args: [] }));
const isProbe = sameScript(stepProcessesCommand(''));
const isKill = (signal: string) => (o: { command: readonly string[] }) => sameScript(killStepCommand('', 'TERM'))(o as never) && o.command[4] === signal;
const execs = () => h.fake.calls.filter((c) => c.verb === 'exec');

describe('runScriptStep', () => {
  it('runs the step in the job container, streams its output and counts it in the state', async () => {
    const state = await prepared();
    h.fake.onExec(isStep, { exitCode: 0, stdout: 'hello from the step\n' });
    const run = await step(state);
    expect(run.error).toBeUndefined();
    expect(execs()).toMatchObject([
      { name: state.jobPod, container: 'job', command: expect.arrayContaining(['bash', '-e', '/__w/_temp/step.sh', '/__w/repo/repo']) },
    ]);
    expect(run.stdout.text).toBe('hello from the step\n');
    expect((await h.response()).state).toMatchObject({ steps: { run: 1, failed: 0 }, seal: { seq: 2 } });
    // The env file was written for the step and removed after it.
    expect(await readdir(join(h.work, '_temp', '_zrh'))).toEqual([]);
    expect(await run.ctx.states.unsuccessfulSteps()).toBe(0);
  });

  it("fails with the step's own exit code, answering with the failure counted", async () => {
    const state = await prepared();
    h.fake.onExec(isStep, { exitCode: 3 });
    const run = await step(state);
    expect(run.error).toMatchObject({ name: 'StepFailedError', exitCode: 3 });
    expect((await h.response()).state.steps).toEqual({ run: 1, failed: 1 });
    expect(await run.ctx.states.unsuccessfulSteps()).toBe(1);
  });

  it('refuses a state the hook did not seal, before any request', async () => {
    const state = await prepared();
    const run = await step({ ...state, jobPod: 'another-pod' });
    expect(run.error).toMatchObject({ code: 'STATE_INVALID' });
    expect(h.fake.calls).toEqual([]);
  });

  it("on a lost exec stream checks for the step's processes with another exec and reports it", async () => {
    const state = await prepared();
    h.fake.onExec(isStep, { stdout: 'half', lost: true }).onExec(isProbe, { exitCode: 0, stdout: '' });
    const run = await step(state);
    expect(run.error).toMatchObject({
      code: 'EXEC_LOST',
      message: expect.stringContaining("the step's result is unknown. No process of the step runs in the job pod."),
    });
    expect(execs().map((c) => (isStep(c as never) ? 'step' : isProbe(c as never) ? 'probe' : c.command?.join(' ')))).toEqual(['step', 'probe']);
    expect((await h.response()).state.seal.seq).toBe(1); // no answer: the runner keeps prepare_job's state
    expect(await run.ctx.states.unsuccessfulSteps()).toBe(1);
  });

  it('on a lost exec stream stops a step that still runs: SIGTERM, a grace period, SIGKILL, then checks again', async () => {
    const state = await prepared();
    let probes = 0;
    h.fake
      .onExec(isStep, { lost: true })
      .onExec(isProbe, () => ({ exitCode: 0, stdout: probes++ === 0 ? '41 42\n' : '' }))
      .onExec(isKill('TERM'), { exitCode: 0 })
      .onExec(isKill('KILL'), { exitCode: 0 });
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const running = step(state);
    await vi.waitFor(() => expect(execs().some((c) => isKill('TERM')(c as never))).toBe(true));
    await vi.advanceTimersByTimeAsync(5000);
    const run = await running;
    expect(run.error).toMatchObject({ code: 'EXEC_LOST', message: expect.stringContaining('The step was stopped in the job pod (SIGTERM, then SIGKILL).') });
    const order = execs().map((c) => (isStep(c as never) ? 'step' : isProbe(c as never) ? 'probe' : `kill ${c.command?.[4]}`));
    expect(order).toEqual(['step', 'probe', 'kill TERM', 'kill KILL', 'probe']);
    expect(run.log.lines).toContain('Stopping the step in the job pod: its exec stream was lost');
  });
});

describe('runScriptStep: the externals a step needs', () => {
  it('volume mode: copies node20 into _work on the runner side once, and records it', async () => {
    const state = await prepared();
    h.fake.onExec(isStep, { exitCode: 0 });
    const run = await step(state, nodeStep);
    expect(run.error).toBeUndefined();
    expect((await stat(join(h.work, '_externals', 'node20', 'bin', 'node'))).isFile()).toBe(true);
    expect(execs()).toHaveLength(1);
    expect((await h.response()).state.workspace.copiedExternals).toEqual(['node20']);
  });

  it('copy mode: sends node20 into the job pod before the first step that needs it, and not again', async () => {
    const first = await prepared({ mode: 'copy' });
    h.fake
      .onExec(isStep, { exitCode: 0 })
      .onExec(sameScript(untarCommand('/')), { exitCode: 0 })
      .onExec((o) => o.command[0] === 'tar', { exitCode: 0, stdout: Buffer.alloc(1024) });
    expect((await step(first, nodeStep)).error).toBeUndefined();
    const [send, run] = execs();
    expect(send?.command).toEqual(untarCommand('/__w/_externals'));
    expect(send?.stdin?.includes('node20/bin/node')).toBe(true);
    expect(isStep(run as never)).toBe(true);
    const second = JSON.parse(JSON.stringify((await h.response()).state)) as Record<string, any>;
    expect(second.workspace.copiedExternals).toEqual(['node20']);
    h.fake.calls.length = 0;
    expect((await step(second, nodeStep)).error).toBeUndefined();
    expect(execs().filter((c) => c.command?.[4] === '/__w/_externals')).toEqual([]);
  });
});

describe('runScriptStep cancelled', () => {
  it('stops the step in the job pod (SIGTERM, a grace period, SIGKILL) and fails as cancelled', async () => {
    const state = await prepared();
    h.fake.onExec(isStep, { hang: true }).onExec(isKill('TERM'), { exitCode: 0 }).onExec(isKill('KILL'), { exitCode: 0 });
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const cancel = new AbortController();
    const running = step(state, args, cancel.signal);
    await vi.waitFor(() => expect(execs()).toHaveLength(1));
    cancel.abort('SIGTERM');
    await vi.waitFor(() => expect(execs().some((c) => isKill('TERM')(c as never))).toBe(true));
    await vi.advanceTimersByTimeAsync(5000);
    const run = await running;
    expect(run.error).toMatchObject({ name: 'CancelledError', signal: 'SIGTERM' });
    expect(execs().map((c) => (isStep(c as never) ? 'step' : `kill ${c.command?.[4]}`))).toEqual(['step', 'kill TERM', 'kill KILL']);
    expect(await run.ctx.states.unsuccessfulSteps()).toBe(1);
  });
});

describe('runScriptStep in copy mode', () => {
  it("sends the step's files with the exec and brings the file commands back after it", async () => {
    const state = await prepared({ mode: 'copy' });
    // An empty tar archive: the file commands folder had nothing new.
    h.fake.onExec(isStep, { exitCode: 0 }).onExec((o) => o.command[0] === 'tar', { exitCode: 0, stdout: Buffer.alloc(1024) });
    const run = await step(state);
    expect(run.error).toBeUndefined();
    const [exec, back] = execs();
    expect(exec?.command?.[4]).toBe('/__w'); // unpacked there before the step runs
    expect(exec?.stdin?.includes('_temp/_zrh/')).toBe(true); // the env file went with it
    expect(back).toMatchObject({ container: 'job', command: tarCommand('/__w', ['_temp/_runner_file_commands']) });
  });

  it('fails the step when the file commands cannot be brought back', async () => {
    const state = await prepared({ mode: 'copy' });
    h.fake.onExec(isStep, { exitCode: 0 }).onExec((o) => o.command[0] === 'tar', { exitCode: 2, stderr: 'tar: _temp/_runner_file_commands: Cannot stat' });
    const run = await step(state);
    expect(run.error).toMatchObject({ code: 'COPY_FAILED', message: expect.stringContaining('Cannot stat') });
    expect((await h.response()).state.seal.seq).toBe(1); // prepare_job's answer, not replaced
  });
});
