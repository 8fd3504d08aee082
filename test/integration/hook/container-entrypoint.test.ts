import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedRunner } from '../../simulator/start.js';
import { createHookSuite, IMAGES, output, startRunner, type HookSuite } from './helpers.js';

// zrh.local/entrypoint:1 (test/images/defs/entrypoint.sh) is busybox with ENTRYPOINT
// /entrypoint.sh and CMD from-cmd. The script prints `zrh-entrypoint: pid <pid>, <n> args` and
// `zrh-entrypoint: arg [<arg>]` per argument, appends `args=<args>` to $GITHUB_OUTPUT, writes one
// argument a line to $GITHUB_WORKSPACE/entrypoint-args.txt and exits with the action input
// `exit_code` ($INPUT_EXIT_CODE, default 0).

describe("run_container_step with entryPoint null: the image's own ENTRYPOINT", () => {
  let suite: HookSuite;
  let runner: StartedRunner;
  const argsFile = () => join(runner.layout.workspace, 'entrypoint-args.txt');

  beforeAll(async () => {
    suite = await createHookSuite('hook-entry');
    runner = await startRunner(suite, 'volume');
    const prepare = await runner.simulator.prepareJob({ image: IMAGES.busybox });
    if (!prepare.ok) throw new Error(`prepare_job failed:\n${output(prepare)}`);
  });
  afterAll(async () => {
    await runner?.simulator.cleanupJob().catch(() => undefined);
    await runner?.dispose();
    await suite?.ns.delete();
  });

  it('runs the ENTRYPOINT as PID 1 with the action args, literally, and brings its output and files back', async () => {
    await rm(argsFile(), { force: true });
    const args = ['--greeting=hello', 'two', '$(GITHUB_WORKSPACE)', 'pid$$'];
    const step = await runner.simulator.runContainerStep({ image: IMAGES.entrypoint, entryPoint: null, args });
    expect(step.exitCode, output(step)).toBe(0);
    expect(step.stdout).toContain('zrh-entrypoint: pid 1, 4 args');
    for (const arg of args) expect(step.stdout).toContain(`zrh-entrypoint: arg [${arg}]`);
    expect(step.fileCommands.outputs).toEqual({ args: args.join(' ') });
    await expect(readFile(argsFile(), 'utf8')).resolves.toBe(args.map((a) => `${a}\n`).join(''));
  });

  it("runs the ENTRYPOINT with the image's CMD when the action has no args", async () => {
    await rm(argsFile(), { force: true });
    const step = await runner.simulator.runContainerStep({ image: IMAGES.entrypoint, entryPoint: null });
    expect(step.exitCode, output(step)).toBe(0);
    expect(step.stdout).toContain('zrh-entrypoint: pid 1, 1 args');
    expect(step.stdout).toContain('zrh-entrypoint: arg [from-cmd]');
    expect(step.fileCommands.outputs).toEqual({ args: 'from-cmd' });
    await expect(readFile(argsFile(), 'utf8')).resolves.toBe('from-cmd\n');
  });

  it("fails with the ENTRYPOINT's own exit code, after its output and file commands", async () => {
    const step = await runner.simulator.runContainerStep({ image: IMAGES.entrypoint, entryPoint: null, args: ['failing'], inputs: { exit_code: '42' } });
    expect(step.exitCode, output(step)).toBe(42);
    expect(step.ok).toBe(false);
    expect(step.stdout).toContain('zrh-entrypoint: arg [failing]');
    expect(step.stdout).toContain('The container action exited with code 42');
    expect(step.fileCommands.outputs).toEqual({ args: 'failing' });
  });
});
