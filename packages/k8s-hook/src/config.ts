import {
  booleanField,
  check as c,
  choiceField,
  defaultedSetting,
  matchingField,
  optionalSetting,
  Problem,
  requiredSetting,
  textField,
  textSetting,
  wholeNumberField,
} from '@zfs-runner-hooks/vocabulary';
import { HookError } from './errors.js';
import { normalizeCapability, type OptionLimits } from './pod/option-limits.js';

/** A list separated by commas or spaces, each item matching `item`. */
const nameList = (item: RegExp, expects: string, normalize: (s: string) => string = (s) => s) =>
  textField((text) => {
    const items = text.split(/[\s,]+/).filter(Boolean);
    const bad = items.filter((i) => !item.test(i));
    if (bad.length) return new Problem(`expected ${expects}, got ${bad.map((b) => JSON.stringify(b)).join(', ')}`);
    return [...new Set(items.map(normalize))];
  });

/**
 * Every environment variable the hook reads, in one schema. Upstream names keep their meaning;
 * the hook's own settings use the `ZRH_` prefix. See the README's configuration table.
 */
export const configEnvSchema = c.object({
  ACTIONS_RUNNER_POD_NAME: requiredSetting(matchingField(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'expected a Kubernetes pod name'), {
    description: "Required. The runner pod's name (ARC sets it): every object the hook creates is labelled `runner-pod=<it>` and owned by that pod.",
    syntax: 'name',
  }),
  ACTIONS_RUNNER_KUBERNETES_NAMESPACE: optionalSetting(textSetting, {
    description: "Namespace of the job pods. Unset: the kubeconfig's or the in-cluster service account's namespace.",
    syntax: 'name',
  }),
  ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE: optionalSetting(textSetting, {
    description: 'Path to a YAML pod template merged into every job and step pod (hook extension, ADR 0134 format). Unreadable or invalid: prepare_job fails.',
    syntax: 'path',
  }),
  ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: defaultedSetting(wholeNumberField('seconds'), '600', {
    description: 'How long to wait for a job or step pod to become ready, in seconds.',
    syntax: 'seconds',
  }),
  ACTIONS_RUNNER_CLAIM_NAME: optionalSetting(textSetting, {
    description: "The runner's work PVC (volume mode). Unset: read from the runner pod, else `<pod>-work`.",
    syntax: 'name',
  }),
  ACTIONS_RUNNER_USE_KUBE_SCHEDULER: defaultedSetting(booleanField, 'false', {
    description: "`true`: in volume mode, do not require the runner's node for the job pod (for ReadWriteMany work claims).",
    syntax: 'true|false',
  }),
  ACTIONS_RUNNER_IMAGE: optionalSetting(textSetting, {
    description: "An image with `sh` and `tar` that copy-mode container steps use to move files. Unset: the job container's image.",
    syntax: 'image',
  }),
  ZRH_WORKSPACE_MODE: defaultedSetting(choiceField(['auto', 'volume', 'copy']), 'auto', {
    description: 'auto',
    syntax: 'auto|volume|copy',
  }),
  ZRH_LOG_LEVEL: defaultedSetting(choiceField(['info', 'debug']), 'info', {
    description: 'info',
    syntax: 'info|debug',
  }),
  ZRH_CODE_CACHE_DIR: optionalSetting(textSetting, {
    description:
      "Folder of the V8 code cache the bundle's loader reads and writes (docs/decisions/0014-startup-time.md); it must be the hook user's own and writable by nobody else. `off`: no cache. Unset: `<tmpdir>/zrh-hook-<uid>`.",
    syntax: 'path or off',
  }),
  ZRH_STATE_DIR: optionalSetting(textSetting, {
    description:
      "Private folder of the runner container where the hook keeps the key that seals the job state, the state's latest number and the step journal (docs/decisions/0015-sealed-job-state.md). It must be a folder of the hook's user with mode 0700 (no access for anyone else), not a symbolic link, and outside `_work` (which the job pod can reach); the hook creates it when missing. Unset: `<tmpdir>/zrh-state-<uid>`.",
    syntax: 'path',
  }),
  ZRH_UNSCHEDULABLE_GRACE_SECONDS: defaultedSetting(wholeNumberField('seconds'), '0', {
    description: "How long an Unschedulable job pod may wait (e.g. for a cluster autoscaler) before prepare_job fails with the scheduler's message.",
    syntax: 'seconds',
  }),
  ZRH_ALLOWED_CAPABILITIES: optionalSetting(nameList(/^[A-Za-z_]+$/, 'capability names separated by commas (e.g. NET_ADMIN,SYS_PTRACE)', normalizeCapability), {
    description:
      "Capabilities a workflow's `options: --cap-add` may add to the job, service and container-step containers (`SYS_PTRACE` or `CAP_SYS_PTRACE`, separated by commas); `ALL` allows every one. Unset: none; any `--cap-add` fails prepare_job. A capability the hook template drops is refused whatever this says.",
    syntax: 'name list',
  }),
  ZRH_ALLOW_PRIVILEGED: defaultedSetting(booleanField, 'false', {
    description:
      "`true`: honour `--privileged`, `--security-opt seccomp=unconfined` and `--security-opt apparmor=unconfined` in a workflow's `options:` (privilege escalation: full access to the node). Unset: they fail prepare_job. A template with `privileged: false`, `allowPrivilegeEscalation: false` or its own seccomp/AppArmor profile still wins.",
    syntax: 'true|false',
  }),
  ZRH_ALLOW_ROOT_USER: defaultedSetting(booleanField, 'false', {
    description:
      "`true`: allow `--user` with uid or gid 0 (`0`, `root`, `0:0`, `1001:0`) in a workflow's `options:`. Unset: they fail prepare_job (an image whose own user is root still runs as root; use the template's `runAsNonRoot` to forbid that). A template with `runAsNonRoot: true` still wins.",
    syntax: 'true|false',
  }),
  ZRH_ALLOWED_LABELS: optionalSetting(nameList(/^[A-Za-z0-9._/*-]+$/, 'label keys or globs separated by commas (e.g. team,ci.example.com/*)'), {
    description: 'label keys or globs separated by commas (e.g. team,ci.example.com/*)',
    syntax: 'glob list',
  }),
});

/** The resolved configuration of one hook call. */
export interface HookConfig {
  readonly runnerPodName: string;
  /** Undefined: use the client's default namespace. */
  readonly namespace: string | undefined;
  readonly templatePath: string | undefined;
  readonly podTimeoutSeconds: number;
  readonly claimName: string | undefined;
  readonly useKubeScheduler: boolean;
  readonly helperImage: string | undefined;
  readonly workspaceMode: 'auto' | 'volume' | 'copy';
  readonly debug: boolean;
  /** Undefined: `<tmpdir>/zrh-state-<uid>`. */
  readonly stateDir: string | undefined;
  readonly unschedulableGraceSeconds: number;
  /** What a workflow's `container.options` may grant. */
  readonly optionLimits: OptionLimits;
}

/** Reads the configuration from `env` (pass `process.env`). Reports every invalid variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): HookConfig {
  const result = c.parse(configEnvSchema, env);
  if (!result.ok) {
    throw new HookError('CONFIG_INVALID', `Invalid hook configuration:\n  ${c.formatIssues(result.issues).join('\n  ')}`, {
      hint: 'Fix these environment variables of the runner container.',
    });
  }
  const e = result.value;
  return {
    runnerPodName: e.ACTIONS_RUNNER_POD_NAME,
    namespace: e.ACTIONS_RUNNER_KUBERNETES_NAMESPACE,
    templatePath: e.ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE,
    podTimeoutSeconds: e.ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS,
    claimName: e.ACTIONS_RUNNER_CLAIM_NAME,
    useKubeScheduler: e.ACTIONS_RUNNER_USE_KUBE_SCHEDULER,
    helperImage: e.ACTIONS_RUNNER_IMAGE,
    workspaceMode: e.ZRH_WORKSPACE_MODE,
    debug: e.ZRH_LOG_LEVEL === 'debug',
    stateDir: e.ZRH_STATE_DIR,
    unschedulableGraceSeconds: e.ZRH_UNSCHEDULABLE_GRACE_SECONDS,
    optionLimits: {
      allowedCapabilities: e.ZRH_ALLOWED_CAPABILITIES ?? [],
      allowPrivileged: e.ZRH_ALLOW_PRIVILEGED,
      allowRootUser: e.ZRH_ALLOW_ROOT_USER,
      allowedLabels: e.ZRH_ALLOWED_LABELS ?? [],
    },
  };
}
