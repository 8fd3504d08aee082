import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookCall } from '../../simulator/runner.js';
import type { StartedRunner } from '../../simulator/start.js';
import { createHookSuite, IMAGES, labelledObjects, names, output, startRunner, type HookSuite } from './helpers.js';

describe('a job in copy mode (no shared volume: the workspace travels as tar over exec)', () => {
  let suite: HookSuite;
  let runner: StartedRunner;
  let prepare: HookCall;

  beforeAll(async () => {
    suite = await createHookSuite('hook-copy');
    runner = await startRunner(suite, 'copy');
    prepare = await runner.simulator.prepareJob({ image: IMAGES.debian });
  });
  afterAll(async () => {
    await runner?.dispose();
    await suite?.ns.delete();
  });

  it('prepare_job picks copy mode for a runner pod without a work claim and mounts no claim', async () => {
    expect(prepare.ok, output(prepare)).toBe(true);
    expect(prepare.stdout).toMatch(/Workspace mode: copy/);
    const { pods } = await labelledObjects(suite, runner.pod.name);
    expect(pods).toHaveLength(1);
    expect(pods[0]?.spec?.volumes?.some((v) => v.persistentVolumeClaim || v.ephemeral)).toBe(false);
  });

  it('the job pod has the checked-out workspace, the event and the step script', async () => {
    const step = await runner.simulator.runScript('cat README.md\ncat data/unicode.txt\ntest -s "$GITHUB_EVENT_PATH" && echo event ok\n', { shell: 'bash' });
    expect(step.ok, output(step)).toBe(true);
    expect(step.stdout).toContain('# sample');
    expect(step.stdout).toContain('grüße — 你好 — 🚀');
    expect(step.stdout).toContain('event ok');
  });

  it('brings the whole file-commands folder back, a file the runner does not know yet included', async () => {
    const script = [
      'echo "answer=42" >> "$GITHUB_OUTPUT"',
      'echo "COLOR=blue" >> "$GITHUB_ENV"',
      'echo /opt/tools >> "$GITHUB_PATH"',
      'echo "saved=yes" >> "$GITHUB_STATE"',
      'echo "### copy summary" >> "$GITHUB_STEP_SUMMARY"',
      'echo "artifact-b" >> "$GITHUB_ARTIFACTS_LIST"',
      'echo "future" > "$(dirname "$GITHUB_OUTPUT")/future_command_y"',
    ].join('\n');
    const step = await runner.simulator.runScript(`${script}\n`);
    expect(step.ok, output(step)).toBe(true);
    expect(step.fileCommands.outputs).toEqual({ answer: '42' });
    expect(step.fileCommands.env).toEqual({ COLOR: 'blue' });
    expect(step.fileCommands.path).toEqual(['/opt/tools']);
    expect(step.fileCommands.state).toEqual({ saved: 'yes' });
    expect(step.fileCommands.summary).toBe('### copy summary\n');
    expect(step.fileCommands.raw.GITHUB_ARTIFACTS_LIST).toBe('artifact-b\n');
    await expect(readFile(join(runner.layout.fileCommandsDir, 'future_command_y'), 'utf8')).resolves.toBe('future\n');
  });

  it('keeps workspace changes in the job pod between steps (and not on the runner)', async () => {
    const write = await runner.simulator.runScript('echo "built" > build.txt\n');
    expect(write.ok, output(write)).toBe(true);
    const read = await runner.simulator.runScript('cat build.txt\necho "COLOR=$COLOR"\n');
    expect(read.ok, output(read)).toBe(true);
    expect(read.stdout).toContain('built');
    expect(read.stdout).toContain('COLOR=blue');
    await expect(access(join(runner.layout.workspace, 'build.txt'))).rejects.toThrow();
  });

  it('runs a JavaScript action, copying the action and the externals node in', async () => {
    const step = await runner.simulator.runJsAction({ inputs: { 'who-to-greet': 'copy mode' } });
    expect(step.ok, output(step)).toBe(true);
    expect(step.fileCommands.outputs['greeting']).toBe('Hello, copy mode!');
  });

  it("a failing step exits with the step's own code and still returns its file commands", async () => {
    const step = await runner.simulator.runScript('echo "partial=1" >> "$GITHUB_OUTPUT"\nexit 3\n');
    expect(step.exitCode, output(step)).toBe(3);
    expect(step.fileCommands.outputs).toEqual({ partial: '1' });
  });

  it('a container step gets the workspace and sends its changes back to the job pod and its file commands to the runner', async () => {
    const step = await runner.simulator.runContainerStep({
      image: IMAGES.busybox,
      entryPoint: 'sh',
      args: ['/github/workspace/ci/container-step.sh'],
    });
    expect(step.ok, output(step)).toBe(true);
    expect(step.stdout).toContain('container step in /github/workspace');
    expect(step.stdout).toContain('build.txt');
    expect(step.fileCommands.outputs).toEqual({ container: 'ok' });
    const read = await runner.simulator.runScript('cat container-step.txt\n');
    expect(read.ok, output(read)).toBe(true);
    expect(read.stdout).toContain('written by a container step');
  });

  it('cleanup_job leaves nothing labelled with the runner pod', async () => {
    const cleanup = await runner.simulator.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    expect(names(await labelledObjects(suite, runner.pod.name))).toEqual({ pods: [], secrets: [], claims: [] });
  });
});
