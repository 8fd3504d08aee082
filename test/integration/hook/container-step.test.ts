import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContainerStepContainer, containerStepInput } from '../../simulator/stdin.js';
import type { StartedRunner } from '../../simulator/start.js';
import { createHookSuite, IMAGES, labelledObjects, names, output, startRunner, type HookSuite } from './helpers.js';

const SECRET_VALUE = 'zrh-s3cr3t-value-4711';

/**
 * A script in the workspace that a container step runs (`sh /github/workspace/<name>`), written by
 * a script step in the job container as a job would (in copy mode the workspace lives in the job
 * pod, not on the runner).
 */
async function workspaceScript(runner: StartedRunner, name: string, body: string): Promise<string> {
  const write = await runner.simulator.runScript(
    `printf '%s' '${Buffer.from(body).toString('base64')}' | base64 -d > "$GITHUB_WORKSPACE/${name}"\nchmod 755 "$GITHUB_WORKSPACE/${name}"\n`,
  );
  if (!write.ok) throw new Error(`writing ${name} failed:\n${output(write)}`);
  return `/github/workspace/${name}`;
}

/** What a later script step in the job container reads from a workspace file. */
async function readInJob(runner: StartedRunner, name: string): Promise<string> {
  const read = await runner.simulator.runScript(`cat "$GITHUB_WORKSPACE/${name}"\n`);
  if (!read.ok) throw new Error(`reading ${name} failed:\n${output(read)}`);
  return read.stdout;
}

describe.each([
  ['volume', 'the step pod mounts the work claim'],
  ['copy', 'the workspace is copied into the step pod and its results back'],
] as const)('run_container_step (%s mode: %s)', (mode, _how) => {
  let suite: HookSuite;
  let runner: StartedRunner;

  beforeAll(async () => {
    suite = await createHookSuite('hook-cstep');
    runner = await startRunner(suite, mode);
    const prepare = await runner.simulator.prepareJob({ image: IMAGES.debian });
    if (!prepare.ok) throw new Error(`prepare_job failed:\n${output(prepare)}`);
  });
  afterAll(async () => {
    await runner?.simulator.cleanupJob().catch(() => undefined);
    await runner?.dispose();
    await suite?.ns.delete();
  });

  it("runs the image's own command when the action names no entry point, with its env from a Secret, and brings results back", async () => {
    const script = await workspaceScript(
      runner,
      'cstep.sh',
      [
        '#!/bin/sh',
        'set -e',
        'echo "pid1: $(tr "\\0" " " < /proc/1/cmdline)"',
        'echo "in $PWD with input=$INPUT_MODE"',
        '[ "$INPUT_TOKEN" = "' + SECRET_VALUE + '" ] && echo "token arrived"',
        'echo "from the container step" > "$GITHUB_WORKSPACE/cstep-out.txt"',
        'echo "cstep=done" >> "$GITHUB_OUTPUT"',
        'echo "### container summary" >> "$GITHUB_STEP_SUMMARY"',
        'sleep 2',
      ].join('\n') + '\n',
    );
    let seen: V1Pod | undefined;
    const watching = (async () => {
      while (!seen) {
        const { pods } = await labelledObjects(suite, runner.pod.name);
        seen = pods.find((p) => p.metadata?.labels?.['zrh.dev/role'] === 'step');
        if (!seen) await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const step = await runner.simulator.runContainerStep({
      image: IMAGES.busybox,
      entryPoint: null,
      args: ['sh', script],
      inputs: { mode, token: SECRET_VALUE },
    });
    await Promise.race([watching, new Promise((r) => setTimeout(r, 1000))]);
    expect(step.ok, output(step)).toBe(true);
    // busybox has no ENTRYPOINT: the args alone ran as PID 1, so the hook set no command.
    expect(step.stdout).toContain(`pid1: sh ${script}`);
    expect(step.stdout).toContain(`in /github/workspace with input=${mode}`);
    expect(step.stdout).toContain('token arrived');
    expect(step.fileCommands.outputs).toEqual({ cstep: 'done' });
    expect(step.fileCommands.summary).toBe('### container summary\n');
    await expect(readInJob(runner, 'cstep-out.txt')).resolves.toContain('from the container step\n');
    // Volume mode shares the runner's workspace; copy mode keeps it in the job pod only.
    if (mode === 'volume') await expect(readFile(join(runner.layout.workspace, 'cstep-out.txt'), 'utf8')).resolves.toBe('from the container step\n');

    expect(seen, 'the step pod was never seen').toBeDefined();
    const container = seen?.spec?.containers.find((c) => c.name === 'step');
    expect(container?.command).toBeUndefined();
    expect(container?.envFrom?.[0]?.secretRef?.name).toBeTruthy();
    expect(JSON.stringify(seen?.spec)).not.toContain(SECRET_VALUE);
  });

  it('deletes the step pod and its env Secret afterwards', async () => {
    const left = await labelledObjects(suite, runner.pod.name);
    expect(left.pods.filter((p) => p.metadata?.labels?.['zrh.dev/role'] === 'step').map((p) => p.metadata?.name)).toEqual([]);
    expect(names(left).secrets).toEqual([]);
  });

  it('a step that exits at once still brings its results back (its pod may already show it terminated when it starts)', async () => {
    const script = await workspaceScript(
      runner,
      'cquick.sh',
      '#!/bin/sh\necho quick > "$GITHUB_WORKSPACE/cquick-out.txt"\necho "quick=yes" >> "$GITHUB_OUTPUT"\necho "QUICK=1" >> "$GITHUB_ENV"\n',
    );
    const step = await runner.simulator.runContainerStep({ image: IMAGES.busybox, entryPoint: 'sh', args: [script] });
    expect(step.ok, output(step)).toBe(true);
    expect(step.fileCommands.outputs).toEqual({ quick: 'yes' });
    expect(step.fileCommands.env).toEqual({ QUICK: '1' });
    await expect(readInJob(runner, 'cquick-out.txt')).resolves.toContain('quick\n');
  });

  it("fails with the container's own exit code", async () => {
    const script = await workspaceScript(runner, 'cfail.sh', '#!/bin/sh\necho "failing on purpose"\nexit 7\n');
    const step = await runner.simulator.runContainerStep({ image: IMAGES.busybox, entryPoint: 'sh', args: [script] });
    expect(step.exitCode, output(step)).toBe(7);
    expect(step.stdout).toContain('failing on purpose');
  });

  it('refuses a Dockerfile action with a clear "not supported" error', async () => {
    const call = await runner.simulator.call((responseFile) =>
      containerStepInput(
        responseFile,
        {
          ...buildContainerStepContainer(runner.layout, { image: 'unused', entryPoint: null, args: [], environmentVariables: {} }),
          image: null,
          dockerfile: join(runner.layout.actionsDir, 'octo/docker-action/v1/Dockerfile'),
        },
        runner.simulator.state,
      ),
    );
    expect(call.exitCode, output(call)).not.toBe(0);
    expect(call.stdout + call.stderr).toMatch(/::error::.*Dockerfile.*not supported/);
  });
});
