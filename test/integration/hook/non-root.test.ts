import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedRunner } from '../../simulator/start.js';
import { createHookSuite, IMAGES, labelledObjects, names, output, startRunner, type HookSuite } from './helpers.js';

describe.each(['volume', 'copy'] as const)('a job image that runs as a non-root user (%s mode)', (mode) => {
  let suite: HookSuite;
  let runner: StartedRunner;

  beforeAll(async () => {
    suite = await createHookSuite(`hook-nr-${mode}`);
    runner = await startRunner(suite, mode);
    const prepare = await runner.simulator.prepareJob({ image: IMAGES.debianNonRoot });
    if (!prepare.ok) throw new Error(`prepare_job failed:\n${output(prepare)}`);
  });
  afterAll(async () => {
    await runner?.dispose();
    await suite?.ns.delete();
  });

  it('runs steps as that user, writing to the workspace and the file commands', async () => {
    const step = await runner.simulator.runScript('echo "uid=$(id -u)"\necho ok > nonroot.txt\ncat nonroot.txt\necho "user=$(id -un)" >> "$GITHUB_OUTPUT"\n', {
      shell: 'bash',
    });
    expect(step.ok, output(step)).toBe(true);
    expect(step.stdout).toContain('uid=1001');
    expect(step.fileCommands.outputs).toEqual({ user: 'runner' });
  });

  it('runs a JavaScript action as that user', async () => {
    const step = await runner.simulator.runJsAction({ inputs: { 'who-to-greet': 'non-root' } });
    expect(step.ok, output(step)).toBe(true);
    expect(step.fileCommands.outputs['greeting']).toBe('Hello, non-root!');
  });

  it('runs a container step whose workspace changes reach the next step', async () => {
    const step = await runner.simulator.runContainerStep({ image: IMAGES.busybox, entryPoint: 'sh', args: ['/github/workspace/ci/container-step.sh'] });
    expect(step.ok, output(step)).toBe(true);
    expect(step.fileCommands.outputs).toEqual({ container: 'ok' });
    const read = await runner.simulator.runScript('cat container-step.txt\n');
    expect(read.ok, output(read)).toBe(true);
    expect(read.stdout).toContain('written by a container step');
  });

  it('cleans up completely', async () => {
    const cleanup = await runner.simulator.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
    expect(names(await labelledObjects(suite, runner.pod.name))).toEqual({ pods: [], secrets: [], claims: [] });
  });
});
