import { describe, expect, it } from 'vitest';
import { isHookError } from '../errors.js';
import { parseCreateOptions } from './create-options.js';
import {
  checkOptions,
  DEFAULT_OPTION_LIMITS,
  isLabelKey,
  refusedOptions,
  templateRestrictions,
  type OptionLimits,
  type TemplateRestrictions,
} from './option-limits.js';
import { parsePodTemplate } from './template.js';

const NO_TEMPLATE: TemplateRestrictions = templateRestrictions(undefined, []);
const limits = (over: Partial<OptionLimits> = {}): OptionLimits => ({ ...DEFAULT_OPTION_LIMITS, ...over });
const refused = (options: string, l: OptionLimits = limits(), t: TemplateRestrictions = NO_TEMPLATE) => refusedOptions(parseCreateOptions(options), l, t);

describe('refusedOptions with the default limits', () => {
  it.each([
    [
      '--cap-add SYS_ADMIN',
      '--cap-add SYS_ADMIN: the runner does not allow adding SYS_ADMIN (ZRH_ALLOWED_CAPABILITIES is unset); add SYS_ADMIN to ZRH_ALLOWED_CAPABILITIES',
    ],
    ['--cap-add ALL', '--cap-add ALL: the runner does not allow adding ALL'],
    ['--privileged', '--privileged: the runner does not allow privileged options; set ZRH_ALLOW_PRIVILEGED=true'],
    ['--security-opt seccomp=unconfined', '--security-opt seccomp=unconfined: the runner does not allow privileged options; set ZRH_ALLOW_PRIVILEGED=true'],
    ['--security-opt apparmor=unconfined', '--security-opt apparmor=unconfined: the runner does not allow privileged options'],
    ['--user 0', '--user 0: the runner does not allow user or group 0 (root); set ZRH_ALLOW_ROOT_USER=true'],
    ['--user root', '--user root: the runner does not allow user or group 0'],
    ['-u 0:0', '--user 0:0: the runner does not allow user or group 0'],
    ['--user 1001:0', '--user 1001:0: the runner does not allow user or group 0'],
    [
      '--label team=ci',
      '--label team=ci: the runner does not allow the label key team (ZRH_ALLOWED_LABELS is unset); add team or a pattern matching it to ZRH_ALLOWED_LABELS',
    ],
    ['--label runner-pod=other-runner', "--label runner-pod=other-runner: runner-pod is one of the hook's own labels"],
  ])('refuses %s, naming the setting that would allow it', (options, message) => {
    expect(refused(options)).toEqual([expect.stringContaining(message)]);
  });

  it.each([
    '',
    '--cap-drop ALL --read-only --security-opt no-new-privileges',
    '--user 1001 --user 1001:1001',
    '--security-opt no-new-privileges=false --privileged=false',
    '--cpus 2 -m 1g -e A=$(HOME) --workdir /src --shm-size 64m',
  ])('allows %j (it only narrows or sets no privilege)', (options) => {
    expect(refused(options)).toEqual([]);
  });

  it('reports every refused option at once', () => {
    expect(refused('--cap-add SYS_ADMIN --privileged --user 0 --label runner-pod=x')).toHaveLength(4);
  });
});

describe('refusedOptions with runner settings', () => {
  it.each<[string, Partial<OptionLimits>]>([
    ['--cap-add SYS_PTRACE', { allowedCapabilities: ['SYS_PTRACE'] }],
    ['--cap-add CAP_SYS_PTRACE --cap-add net_admin', { allowedCapabilities: ['SYS_PTRACE', 'NET_ADMIN'] }],
    ['--cap-add SYS_ADMIN --cap-add ALL', { allowedCapabilities: ['ALL'] }],
    ['--privileged --security-opt seccomp=unconfined --security-opt apparmor=unconfined', { allowPrivileged: true }],
    ['--user 0:0', { allowRootUser: true }],
    ['--label team=ci --label ci.example.com/owner=me', { allowedLabels: ['team', 'ci.example.com/*'] }],
    ['--label app.kubernetes.io/name=web', { allowedLabels: ['*'] }],
  ])('allows %s with %o', (options, l) => {
    expect(refused(options, limits(l))).toEqual([]);
  });

  it.each<[string, Partial<OptionLimits>, string]>([
    ['--cap-add SYS_ADMIN', { allowedCapabilities: ['SYS_PTRACE'] }, 'ZRH_ALLOWED_CAPABILITIES is SYS_PTRACE'],
    ['--cap-add ALL', { allowedCapabilities: ['SYS_PTRACE'] }, 'does not allow adding ALL'],
    ['--label other.example.com/x=1', { allowedLabels: ['ci.example.com/*'] }, 'does not allow the label key other.example.com/x'],
    ['--label runner-pod=x', { allowedLabels: ['*'] }, "runner-pod is one of the hook's own labels"],
    ['--label app.kubernetes.io/managed-by=me', { allowedLabels: ['*'] }, "one of the hook's own labels"],
    ['--label zrh.dev/role=job', { allowedLabels: ['*'] }, "one of the hook's own labels"],
    ['--label bad_key!=1', { allowedLabels: ['*'] }, 'not a valid Kubernetes label'],
    ['--label "team=has space"', { allowedLabels: ['*'] }, 'not a valid Kubernetes label'],
  ])('refuses %s with %o', (options, l, message) => {
    expect(refused(options, limits(l))).toEqual([expect.stringContaining(message)]);
  });
});

describe('refusedOptions against the hook template', () => {
  const restrictionsOf = async (yaml: string, patch = '$job') => {
    const template = await parsePodTemplate(yaml, 'template.yaml');
    return templateRestrictions(
      template,
      (template.spec?.containers ?? []).filter((c) => c.name === patch),
    );
  };
  const all = limits({ allowedCapabilities: ['ALL'], allowPrivileged: true, allowRootUser: true, allowedLabels: ['*'] });

  it.each([
    ['capabilities: { drop: [ALL] }', '--cap-add NET_ADMIN', 'the hook template sets capabilities.drop: [ALL]'],
    ['capabilities: { drop: [NET_RAW] }', '--cap-add CAP_NET_RAW', 'capabilities.drop: [NET_RAW]'],
    ['capabilities: { drop: [NET_RAW] }', '--cap-add ALL', 'capabilities.drop: [NET_RAW]'],
    ['allowPrivilegeEscalation: false', '--cap-add SYS_ADMIN', 'allowPrivilegeEscalation: false'],
    ['allowPrivilegeEscalation: false', '--privileged', 'allowPrivilegeEscalation: false'],
    ['privileged: false', '--privileged', 'privileged: false'],
    ['runAsNonRoot: true', '--user 0', 'runAsNonRoot: true'],
    ['seccompProfile: { type: RuntimeDefault }', '--security-opt seccomp=unconfined', 'a seccompProfile'],
    ['appArmorProfile: { type: RuntimeDefault }', '--security-opt apparmor=unconfined', 'an appArmorProfile'],
  ])('a $job securityContext with %s wins over %s, whatever the runner allows', async (securityContext, options, message) => {
    const t = await restrictionsOf(`spec:\n  containers:\n    - name: $job\n      securityContext: { ${securityContext} }\n`);
    expect(refused(options, all, t)).toEqual([expect.stringContaining(`${message} for this container, and the template's restrictions always win`)]);
  });

  it('a capability the template drops and adds back itself may be added', async () => {
    const t = await restrictionsOf(
      'spec:\n  containers:\n    - name: $job\n      securityContext: { capabilities: { drop: [ALL], add: [NET_BIND_SERVICE] } }\n',
    );
    expect(t.drops).toEqual(['ALL']);
    const ok = await restrictionsOf('spec:\n  containers:\n    - name: $job\n      securityContext: { capabilities: { drop: [NET_RAW], add: [NET_RAW] } }\n');
    expect(refused('--cap-add NET_RAW', all, ok)).toEqual([]);
  });

  it("the pod's runAsNonRoot and seccompProfile win too; a $job drop does not restrict a service", async () => {
    const t = await restrictionsOf(
      'spec:\n  securityContext: { runAsNonRoot: true, seccompProfile: { type: RuntimeDefault } }\n  containers:\n    - name: $job\n      securityContext: { capabilities: { drop: [ALL] } }\n',
      '$redis',
    );
    expect(refused('--user 0 --security-opt seccomp=unconfined --cap-add NET_ADMIN', all, t)).toEqual([
      expect.stringContaining('--security-opt seccomp=unconfined: the hook template sets a seccompProfile'),
      expect.stringContaining('--user 0: the hook template sets runAsNonRoot: true'),
    ]);
  });

  it('a label the template sets cannot be overridden', async () => {
    const t = await restrictionsOf('metadata:\n  labels: { network-tier: restricted }\n');
    expect(refused('--label network-tier=open', all, t)).toEqual([expect.stringContaining('the hook template sets the label network-tier')]);
  });
});

describe('checkOptions', () => {
  it('throws one OPTION_REFUSED error listing every refused option of the container', () => {
    let err: unknown;
    try {
      checkOptions('service redis', parseCreateOptions('--privileged --cap-add SYS_ADMIN --cpus 1'), DEFAULT_OPTION_LIMITS, NO_TEMPLATE);
    } catch (e) {
      err = e;
    }
    expect(isHookError(err) && err.code).toBe('OPTION_REFUSED');
    expect((err as Error).message).toBe(
      'Options of the service redis are not allowed:\n' +
        '  --cap-add SYS_ADMIN: the runner does not allow adding SYS_ADMIN (ZRH_ALLOWED_CAPABILITIES is unset); add SYS_ADMIN to ZRH_ALLOWED_CAPABILITIES to allow it\n' +
        '  --privileged: the runner does not allow privileged options; set ZRH_ALLOW_PRIVILEGED=true to allow it. ' +
        "Remove them from the workflow's `options:`, or ask the runner's administrator for the setting named (docs/hook-configuration.md).",
    );
  });

  it('passes allowed options', () => {
    expect(() => checkOptions('job container', parseCreateOptions('--cpus 1 --user 1001'), DEFAULT_OPTION_LIMITS, NO_TEMPLATE)).not.toThrow();
  });
});

describe('isLabelKey', () => {
  it.each([
    ['team', true],
    ['ci.example.com/owner', true],
    ['a/b/c', false],
    ['Example.com/x', false],
    ['-x', false],
    ['x'.repeat(63), true],
    ['x'.repeat(64), false],
    ['', false],
  ])('%s: %s', (key, valid) => expect(isLabelKey(key)).toBe(valid));
});
