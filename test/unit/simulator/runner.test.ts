import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildHookProcessEnv } from '../../simulator/hook-env.js';
import { RunnerSimulator } from '../../simulator/runner.js';
import { defaultJobFacts } from '../../simulator/step-env.js';
import { layOutWork } from '../../simulator/work-layout.js';

const fakeHook = fileURLToPath(new URL('./fixtures/fake-hook.cjs', import.meta.url));

interface LoggedCall {
  cwd: string;
  uid: number;
  env: Record<string, string>;
  input: { command: string; state: unknown; args: Record<string, unknown> };
}

describe('RunnerSimulator (with a stand-in hook)', () => {
  let root: string;
  let sim: RunnerSimulator;
  let hookLog: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'zrh-sim-'));
    const fakeNode = join(root, 'node');
    await writeFile(fakeNode, '');
    const layout = await layOutWork({
      workDir: join(root, '_work'),
      externalsDir: join(root, 'externals'),
      repository: 'octo-org/hello',
      nodeBinary: fakeNode,
      owner: null,
    });
    hookLog = join(root, 'hook.log');
    const facts = defaultJobFacts('octo-org/hello', 'runner-test');
    sim = new RunnerSimulator({
      layout,
      facts,
      hookPath: fakeHook,
      env: { WORKFLOW_LEVEL: 'w' },
      hookEnv: buildHookProcessEnv({
        layout,
        facts,
        podName: 'runner-test',
        namespace: 'ns',
        kubeconfig: join(root, 'kubeconfig'),
        hookPath: fakeHook,
        home: root,
        path: process.env['PATH'] ?? '/usr/bin:/bin',
        extra: { FAKE_HOOK_LOG: hookLog },
      }),
    });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function logged(): Promise<LoggedCall[]> {
    return (await readFile(hookLog, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as LoggedCall);
  }

  it('runs the hook in the workspace with the runner pod env and one line of stdin', async () => {
    const call = await sim.prepareJob({ image: 'zrh.local/debian:12-1' }, [{ image: 'redis:7' }]);
    expect(call.ok).toBe(true);
    expect(call.stdin.split('\n')).toHaveLength(2);
    const [first] = await logged();
    expect(first?.cwd).toBe(sim.layout.workspace);
    expect(first?.env).toMatchObject({
      ACTIONS_RUNNER_POD_NAME: 'runner-test',
      ACTIONS_RUNNER_KUBERNETES_NAMESPACE: 'ns',
      KUBECONFIG: join(root, 'kubeconfig'),
      GITHUB_REPOSITORY: 'octo-org/hello',
      GITHUB_WORKSPACE: sim.layout.workspace,
    });
    expect(first?.env['ACTIONS_RUNTIME_TOKEN']).toBeUndefined();
  });

  it('creates an empty response file per call and removes it afterwards', async () => {
    await sim.prepareJob({ image: 'debian:12' });
    expect(await readdir(sim.layout.responsesDir)).toEqual([]);
    expect(sim.calls[0]?.responseText).toContain('"isAlpine":false');
  });

  it('carries state forward and keeps it when a response has none', async () => {
    await sim.prepareJob({ image: 'debian:12' });
    expect(sim.state).toEqual({ count: 1, jobPod: 'fake-job' });
    await sim.runScript('echo hi');
    expect(sim.state).toEqual({ count: 2, jobPod: 'fake-job' });
    const kept = await sim.runScript('echo hi', { env: { FAKE_KEEP_STATE: '1' } });
    expect(kept.stateBefore).toEqual(kept.stateAfter);
    await sim.cleanupJob();
    const calls = await logged();
    expect(calls.map((c) => c.input.state)).toEqual([
      null,
      { count: 1, jobPod: 'fake-job' },
      { count: 2, jobPod: 'fake-job' },
      { count: 2, jobPod: 'fake-job' },
    ]);
  });

  it('writes the step script into _temp and sends its container path', async () => {
    await sim.prepareJob({ image: 'debian:12' });
    const step = await sim.runScript('echo "$GREETING"\n', { shell: 'bash', env: { GREETING: 'hey' } });
    expect(step.stdout).toMatch(/^ran bash --noprofile\|--norc\|-e\|-o\|pipefail\|\/__w\/_temp\/[0-9a-f-]{36}\.sh$/m);
    const scriptPath = /(\/__w\/_temp\/[0-9a-f-]+\.sh)/.exec(step.stdout)?.[1] ?? '';
    expect(await readFile(join(sim.layout.workDir, scriptPath.slice('/__w/'.length)), 'utf8')).toBe('echo "$GREETING"\n');
  });

  it('reads file commands back and applies GITHUB_ENV and GITHUB_PATH to later steps', async () => {
    await sim.prepareJob({ image: 'debian:12' });
    const first = await sim.runScript('true', { env: { GREETING: 'hello' } });
    expect(first.fileCommands.outputs).toEqual({ seen: 'hello' });
    expect(sim.env).toEqual({ FROM_STEP: 'line 1\nline 2' });
    await sim.runScript('true');
    expect(sim.prependPath).toEqual(['/opt/step-2', '/opt/step-1']);
    await sim.runJsAction({ inputs: { 'who-to-greet': 'Mona' } });
    const [, , , js] = await logged();
    expect(js?.input.args).toMatchObject({
      entryPoint: '/__e/node20/bin/node',
      entryPointArgs: ['"/__w/_actions/zrh-test/greet/v1/dist/index.js"'],
      prependPath: ['/opt/step-2', '/opt/step-1'],
      environmentVariables: { FROM_STEP: 'line 1\nline 2', WORKFLOW_LEVEL: 'w', 'INPUT_WHO-TO-GREET': 'Mona' },
    });
  });

  it('reports a failing step with its exit code and does not apply its file commands', async () => {
    await sim.prepareJob({ image: 'debian:12' });
    const step = await sim.runScript('exit 3', { env: { FAKE_EXIT: '3' } });
    expect(step.exitCode).toBe(3);
    expect(step.ok).toBe(false);
    expect(sim.env).toEqual({});
  });

  it('can run the hook as the runner user (uid 1001)', async () => {
    const asRunner = new RunnerSimulator({
      layout: sim.layout,
      facts: sim.facts,
      hookPath: fakeHook,
      hookEnv: sim.hookEnv,
      hookUser: { uid: 1001, gid: 123 },
    });
    await chmod(root, 0o777);
    await chmod(sim.layout.responsesDir, 0o777);
    await asRunner.cleanupJob();
    const [call] = await logged();
    expect(call?.uid).toBe(1001);
  });

  it('sends SIGINT to the hook process on cancellation', async () => {
    await sim.prepareJob({ image: 'debian:12' });
    const running = sim.runScript('sleep 600', { env: { FAKE_SLEEP: '1' } });
    await waitUntil(() => (sim.calls.length === 1 && sim.busy ? readFile(hookLog, 'utf8').then((t) => t.split('\n').length > 2) : false));
    await sim.cancel({ termAfterMs: 5_000 });
    const step = await running;
    expect(step.exitCode).toBe(130);
    expect(step.stdout).toContain('got SIGINT');
  });
});

async function waitUntil(probe: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
