import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedRunner } from '../../simulator/start.js';
import { createHookSuite, IMAGES, output, startRunner, type HookSuite } from './helpers.js';

// prepare_job answers `isAlpine` (the runner then runs JavaScript actions with its Alpine node
// build). The job container logs `zrh-os: alpine|other` before it settles; the hook reads that
// line, and probes with exec when a hook template gave the container another command.

describe('isAlpine in prepare_job', () => {
  let suite: HookSuite;
  const runners: StartedRunner[] = [];
  let dir: string;

  beforeAll(async () => {
    suite = await createHookSuite('hook-alpine');
    dir = await mkdtemp(join(tmpdir(), 'zrh-alpine-'));
  });
  afterAll(async () => {
    for (const r of runners) {
      await r.simulator.cleanupJob().catch(() => undefined);
      await r.dispose();
    }
    await suite?.ns.delete();
    await rm(dir, { recursive: true, force: true });
  });

  const prepare = async (image: string, mode: 'volume' | 'copy', runnerEnv: Record<string, string> = {}) => {
    const runner = await startRunner(suite, mode, { runnerEnv });
    runners.push(runner);
    const result = await runner.simulator.prepareJob({ image });
    expect(result.ok, output(result)).toBe(true);
    return result;
  };

  it('is true for an image with /etc/alpine-release (volume mode), read from the job container log', async () => {
    const r = await prepare(IMAGES.alpineRelease, 'volume', { ZRH_LOG_LEVEL: 'debug' });
    expect(r.response).toMatchObject({ isAlpine: true });
    const requests = /API requests: \d+ (\{.*\})/.exec(r.stdout + r.stderr)?.[1];
    expect(JSON.parse(requests ?? '{}')).toMatchObject({ 'GET pods/log': 1 });
    expect(requests).not.toContain('exec');
  });

  it('is false for a Debian image in copy mode', async () => {
    const r = await prepare(IMAGES.debian, 'copy');
    expect(r.response).toMatchObject({ isAlpine: false });
  });

  it('is still found, by an exec probe, when a hook template replaces the job container command', async () => {
    const template = join(dir, 'template.yaml');
    await writeFile(template, 'spec:\n  containers:\n    - name: $job\n      command: [sleep, "3600"]\n');
    const r = await prepare(IMAGES.alpineRelease, 'volume', { ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE: template, ZRH_LOG_LEVEL: 'debug' });
    expect(r.response).toMatchObject({ isAlpine: true });
    expect(r.stdout + r.stderr).toMatch(/API requests: .*"EXEC pods\/exec":1/);
  });
});
