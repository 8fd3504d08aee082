import { describe, expect, it } from 'vitest';
import type { MountVolume } from '../protocol/input.js';
import { EXTERNALS, runnerContainer, WORK } from '../testing/fixtures.js';
import { resolveRunnerDirs } from './paths.js';
import { outermost, planStepMounts } from './mounts.js';

describe('resolveRunnerDirs', () => {
  it("reads _work and externals from prepare_job's system mounts", () => {
    const mounts = runnerContainer().systemMountVolumes as MountVolume[];
    expect(resolveRunnerDirs(mounts, '/x/y.json', '/irrelevant/node')).toEqual({ workDir: WORK, externalsDir: EXTERNALS });
  });

  it('falls back to the response file location and the node binary', () => {
    expect(resolveRunnerDirs([], `${WORK}/_temp/_runner_hook_responses/a.json`, '/home/runner/externals/node20/bin/node')).toEqual({
      workDir: WORK,
      externalsDir: EXTERNALS,
    });
    expect(resolveRunnerDirs([], '/tmp/a.json', '/n')).toBeUndefined();
  });
});

describe('planStepMounts', () => {
  it('skips and reports mounts outside _work', () => {
    const v = (source: string, target: string): MountVolume => ({
      sourceVolumePath: source,
      userProvidedValue: undefined,
      targetVolumePath: target,
      readOnly: false,
    });
    const plan = planStepMounts([v('/var/run/docker.sock', '/var/run/docker.sock'), v(`${WORK}/repo/repo/data`, '/data'), v(`${EXTERNALS}/node20`, '/n')], {
      workDir: WORK,
      externalsDir: EXTERNALS,
    });
    expect(plan.mounts).toEqual([
      { target: '/data', rel: 'repo/repo/data', readOnly: false },
      { target: '/n', rel: '_externals/node20', readOnly: true },
    ]);
    expect(plan.skipped).toEqual([expect.stringContaining('/var/run/docker.sock')]);
  });
});

describe('outermost', () => {
  it('drops paths inside other listed paths', () => {
    expect(outermost(['_temp/_runner_file_commands', 'repo/repo', '_temp', '_temp/_github_home', 'repo/repo'])).toEqual(['_temp', 'repo/repo']);
  });
});
