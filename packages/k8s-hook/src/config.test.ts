import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('resolves defaults from the runner pod name alone', () => {
    expect(loadConfig({ ACTIONS_RUNNER_POD_NAME: 'arc-runner-1' })).toEqual({
      runnerPodName: 'arc-runner-1',
      namespace: undefined,
      templatePath: undefined,
      podTimeoutSeconds: 600,
      claimName: undefined,
      useKubeScheduler: false,
      helperImage: undefined,
      workspaceMode: 'auto',
      debug: false,
      unschedulableGraceSeconds: 0,
    });
  });

  it('reads the upstream variables and the ZRH_ ones', () => {
    const c = loadConfig({
      ACTIONS_RUNNER_POD_NAME: 'p',
      ACTIONS_RUNNER_KUBERNETES_NAMESPACE: 'ci',
      ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: '30',
      ACTIONS_RUNNER_USE_KUBE_SCHEDULER: 'true',
      ZRH_WORKSPACE_MODE: 'copy',
      ZRH_LOG_LEVEL: 'debug',
    });
    expect(c).toMatchObject({ namespace: 'ci', podTimeoutSeconds: 30, useKubeScheduler: true, workspaceMode: 'copy', debug: true });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ ACTIONS_RUNNER_POD_NAME: 'p', ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: '', ZRH_WORKSPACE_MODE: '' })).toMatchObject({
      podTimeoutSeconds: 600,
      workspaceMode: 'auto',
    });
  });

  it('reports every invalid variable by name', () => {
    expect(() => loadConfig({ ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: 'soon', ZRH_WORKSPACE_MODE: 'nfs' })).toThrowError(
      /ACTIONS_RUNNER_POD_NAME: expected string, got nothing[\s\S]*ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS[\s\S]*ZRH_WORKSPACE_MODE/,
    );
  });
});
