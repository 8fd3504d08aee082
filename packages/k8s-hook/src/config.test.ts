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
      optionLimits: { allowedCapabilities: [], allowPrivileged: false, allowRootUser: false, allowedLabels: [] },
    });
  });

  it('reads the limits of container.options: capabilities normalized, lists split on commas and spaces', () => {
    expect(
      loadConfig({
        ACTIONS_RUNNER_POD_NAME: 'p',
        ZRH_ALLOWED_CAPABILITIES: 'cap_sys_ptrace, NET_ADMIN  SYS_PTRACE',
        ZRH_ALLOW_PRIVILEGED: 'true',
        ZRH_ALLOW_ROOT_USER: '1',
        ZRH_ALLOWED_LABELS: 'team,ci.example.com/*',
      }).optionLimits,
    ).toEqual({ allowedCapabilities: ['SYS_PTRACE', 'NET_ADMIN'], allowPrivileged: true, allowRootUser: true, allowedLabels: ['team', 'ci.example.com/*'] });
  });

  it.each([
    [
      'ZRH_ALLOWED_CAPABILITIES',
      'SYS-ADMIN',
      'ZRH_ALLOWED_CAPABILITIES: expected capability names separated by commas (e.g. NET_ADMIN,SYS_PTRACE), got "SYS-ADMIN"',
    ],
    ['ZRH_ALLOWED_LABELS', 'team=ci', 'ZRH_ALLOWED_LABELS: expected label keys or globs separated by commas (e.g. team,ci.example.com/*), got "team=ci"'],
    ['ZRH_ALLOW_ROOT_USER', 'maybe', 'ZRH_ALLOW_ROOT_USER: expected true or false (also 1/yes/on and 0/no/off)'],
    ['ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS', '10m', 'ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: expected a whole number of seconds (0 or more)'],
    ['ZRH_UNSCHEDULABLE_GRACE_SECONDS', '-5', 'ZRH_UNSCHEDULABLE_GRACE_SECONDS: expected a whole number of seconds (0 or more)'],
    ['ZRH_WORKSPACE_MODE', 'nfs', 'ZRH_WORKSPACE_MODE: expected one of "auto", "volume", "copy"'],
  ])('reports an invalid %s', (name, value, message) => {
    expect(() => loadConfig({ ACTIONS_RUNNER_POD_NAME: 'p', [name]: value })).toThrowError(message);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['on', true],
    ['On', true],
    ['false', false],
    ['False', false],
    ['0', false],
    ['no', false],
    ['off', false],
    ['OFF', false],
    ['', false],
  ])('reads the boolean ACTIONS_RUNNER_USE_KUBE_SCHEDULER=%j as %s, like the cache settings', (value, expected) => {
    expect(loadConfig({ ACTIONS_RUNNER_POD_NAME: 'p', ACTIONS_RUNNER_USE_KUBE_SCHEDULER: value }).useKubeScheduler).toBe(expected);
  });

  it.each(['maybe', 'y', '2', 'enabled'])('refuses the boolean ACTIONS_RUNNER_USE_KUBE_SCHEDULER=%j', (value) => {
    expect(() => loadConfig({ ACTIONS_RUNNER_POD_NAME: 'p', ACTIONS_RUNNER_USE_KUBE_SCHEDULER: value })).toThrowError(
      'ACTIONS_RUNNER_USE_KUBE_SCHEDULER: expected true or false (also 1/yes/on and 0/no/off)',
    );
  });

  it.each([
    ['0', 0],
    ['30', 30],
    [' 45 ', 45],
  ])('reads ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS=%j as %i', (value, seconds) => {
    expect(loadConfig({ ACTIONS_RUNNER_POD_NAME: 'p', ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: value }).podTimeoutSeconds).toBe(seconds);
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
