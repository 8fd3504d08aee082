import { check as c } from '@zfs-runner-hooks/kube';
import { HookError } from './errors.js';
import { normalizeCapability, type OptionLimits } from './pod/option-limits.js';

const emptyAsUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const FLAG_VALUES = ['true', 'false', '1', '0', 'yes', 'no', 'TRUE', 'FALSE', 'True', 'False'] as const;
const flag = c.preprocess(
  emptyAsUndefined,
  c.map(c.optional(c.oneOf(FLAG_VALUES)), (v) => v !== undefined && ['true', '1', 'yes', 'TRUE', 'True'].includes(v)),
);
const optionalText = c.preprocess(emptyAsUndefined, c.optional(c.string()));
/** A whole number of seconds (0 or more) written as text; unset or empty: `fallback`. */
const seconds = (fallback: number): c.Check<number> => ({
  expects: 'a whole number of seconds',
  run: (v, path, issues) => {
    const raw = emptyAsUndefined(v);
    if (raw === undefined) return fallback;
    const n = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n)) {
      issues.push({ path: [...path], message: `expected a whole number of seconds (0 or more), got ${c.typeName(raw)}` });
      return c.INVALID;
    }
    return n;
  },
});
/** A list separated by commas or spaces, each item matching `item`; unset or empty: undefined. */
const nameList = (item: RegExp, expects: string, normalize: (s: string) => string = (s) => s): c.Check<string[] | undefined> => ({
  expects,
  run: (v, path, issues) => {
    const raw = emptyAsUndefined(v);
    if (raw === undefined) return undefined;
    const items = typeof raw === 'string' ? raw.split(/[\s,]+/).filter(Boolean) : [];
    const bad = typeof raw === 'string' ? items.filter((i) => !item.test(i)) : [c.typeName(raw)];
    if (bad.length) {
      issues.push({ path: [...path], message: `expected ${expects}, got ${bad.map((b) => JSON.stringify(b)).join(', ')}` });
      return c.INVALID;
    }
    return [...new Set(items.map(normalize))];
  },
});
const choice = <const V extends readonly string[]>(values: V, fallback: V[number]) => c.preprocess(emptyAsUndefined, c.optional(c.oneOf(values), fallback));

/**
 * Every environment variable the hook reads, in one schema. Upstream names keep their meaning;
 * the hook's own settings use the `ZRH_` prefix. See the README's configuration table.
 */
export const configEnvSchema = c.object({
  ACTIONS_RUNNER_POD_NAME: c.describe(
    c.string({ pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, patternMessage: 'expected a Kubernetes pod name' }),
    'Required. The runner pod\'s name (ARC sets it): every object the hook creates is labelled `runner-pod=<it>` and owned by that pod.'),
  ACTIONS_RUNNER_KUBERNETES_NAMESPACE: c.describe(optionalText, 'Namespace of the job pods. Unset: the kubeconfig\'s or the in-cluster service account\'s namespace.'),
  ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE: c.describe(optionalText, 'Path to a YAML pod template merged into every job and step pod (hook extension, ADR 0134 format). Unreadable or invalid: prepare_job fails.'),
  ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: c.describe(seconds(600), 'How long to wait for a job or step pod to become ready, in seconds.'),
  ACTIONS_RUNNER_CLAIM_NAME: c.describe(optionalText, 'The runner\'s work PVC (volume mode). Unset: read from the runner pod, else `<pod>-work`.'),
  ACTIONS_RUNNER_USE_KUBE_SCHEDULER: c.describe(flag, '`true`: in volume mode, do not require the runner\'s node for the job pod (for ReadWriteMany work claims).'),
  ACTIONS_RUNNER_IMAGE: c.describe(optionalText, 'An image with `sh` and `tar` that copy-mode container steps use to move files. Unset: the job container\'s image.'),
  ZRH_WORKSPACE_MODE: c.describe(
    choice(['auto', 'volume', 'copy'], 'auto'),
    '`volume`: mount the runner\'s work PVC into the job pod; `copy`: no shared volume, copy what each step needs; `auto`: `volume` when the runner\'s `_work` is a PVC, else `copy`.'),
  ZRH_LOG_LEVEL: c.describe(
    choice(['info', 'debug'], 'info'),
    '`debug` prints the hook\'s debug lines (resolved configuration, pod specs, API request counts) as plain log lines.'),
  ZRH_CODE_CACHE_DIR: c.describe(optionalText, 'Folder of the V8 code cache the bundle\'s loader reads and writes (docs/decisions/0014-startup-time.md); it must be the hook user\'s own and writable by nobody else. `off`: no cache. Unset: `<tmpdir>/zrh-hook-<uid>`.'),
  ZRH_STATE_DIR: c.describe(optionalText, 'Private folder of the runner container where the hook keeps the key that seals the job state, the state\'s latest number and the step journal (docs/decisions/0015-sealed-job-state.md). It must be a folder of the hook\'s user with mode 0700 (no access for anyone else), not a symbolic link, and outside `_work` (which the job pod can reach); the hook creates it when missing. Unset: `<tmpdir>/zrh-state-<uid>`.'),
  ZRH_UNSCHEDULABLE_GRACE_SECONDS: c.describe(seconds(0), 'How long an Unschedulable job pod may wait (e.g. for a cluster autoscaler) before prepare_job fails with the scheduler\'s message.'),
  ZRH_ALLOWED_CAPABILITIES: c.describe(
    nameList(/^[A-Za-z_]+$/, 'capability names separated by commas (e.g. NET_ADMIN,SYS_PTRACE)', normalizeCapability),
    'Capabilities a workflow\'s `options: --cap-add` may add to the job, service and container-step containers (`SYS_PTRACE` or `CAP_SYS_PTRACE`, separated by commas); `ALL` allows every one. Unset: none; any `--cap-add` fails prepare_job. A capability the hook template drops is refused whatever this says.'),
  ZRH_ALLOW_PRIVILEGED: c.describe(flag, '`true`: honour `--privileged`, `--security-opt seccomp=unconfined` and `--security-opt apparmor=unconfined` in a workflow\'s `options:` (privilege escalation: full access to the node). Unset: they fail prepare_job. A template with `privileged: false`, `allowPrivilegeEscalation: false` or its own seccomp/AppArmor profile still wins.'),
  ZRH_ALLOW_ROOT_USER: c.describe(flag, '`true`: allow `--user` with uid or gid 0 (`0`, `root`, `0:0`, `1001:0`) in a workflow\'s `options:`. Unset: they fail prepare_job (an image whose own user is root still runs as root; use the template\'s `runAsNonRoot` to forbid that). A template with `runAsNonRoot: true` still wins.'),
  ZRH_ALLOWED_LABELS: c.describe(
    nameList(/^[A-Za-z0-9._/*-]+$/, 'label keys or globs separated by commas (e.g. team,ci.example.com/*)'),
    'Label keys a workflow\'s `options: --label` may set on the job or step pod, separated by commas; `*` matches any characters (`ci.example.com/*`). Unset: none; any `--label` fails prepare_job. Labels can match NetworkPolicy and Service selectors, so allow only keys no policy selects on. Never allowed: the hook\'s own keys (`runner-pod`, `app.kubernetes.io/managed-by`, `zrh.dev/*`) and keys the hook template sets.'),
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
