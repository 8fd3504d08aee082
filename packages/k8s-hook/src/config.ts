import * as z from 'zod';
import { HookError } from './errors.js';
import { formatIssues } from './protocol/issues.js';

const emptyAsUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const flag = z.preprocess(
  emptyAsUndefined,
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'TRUE', 'FALSE', 'True', 'False'])
    .optional()
    .transform((v) => v !== undefined && ['true', '1', 'yes', 'TRUE', 'True'].includes(v)),
);
const optionalText = z.preprocess(emptyAsUndefined, z.string().optional());
const seconds = (fallback: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).optional().transform((v) => v ?? fallback));

/**
 * Every environment variable the hook reads, in one schema. Upstream names keep their meaning;
 * the hook's own settings use the `ZRH_` prefix. See the README's configuration table.
 */
export const configEnvSchema = z.object({
  ACTIONS_RUNNER_POD_NAME: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'expected a Kubernetes pod name')
    .describe('Required. The runner pod\'s name (ARC sets it): every object the hook creates is labelled `runner-pod=<it>` and owned by that pod.'),
  ACTIONS_RUNNER_KUBERNETES_NAMESPACE: optionalText.describe('Namespace of the job pods. Unset: the kubeconfig\'s or the in-cluster service account\'s namespace.'),
  ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE: optionalText.describe('Path to a YAML pod template merged into every job and step pod (hook extension, ADR 0134 format). Unreadable or invalid: prepare_job fails.'),
  ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: seconds(600).describe('How long to wait for a job or step pod to become ready, in seconds.'),
  ACTIONS_RUNNER_CLAIM_NAME: optionalText.describe('The runner\'s work PVC (volume mode). Unset: read from the runner pod, else `<pod>-work`.'),
  ACTIONS_RUNNER_USE_KUBE_SCHEDULER: flag.describe('`true`: in volume mode, do not require the runner\'s node for the job pod (for ReadWriteMany work claims).'),
  ACTIONS_RUNNER_IMAGE: optionalText.describe('An image with `sh` and `tar` that copy-mode container steps use to move files. Unset: the job container\'s image.'),
  ZRH_WORKSPACE_MODE: z
    .preprocess(emptyAsUndefined, z.enum(['auto', 'volume', 'copy']).default('auto'))
    .describe('`volume`: mount the runner\'s work PVC into the job pod; `copy`: no shared volume, copy what each step needs; `auto`: `volume` when the runner\'s `_work` is a PVC, else `copy`.'),
  ZRH_LOG_LEVEL: z
    .preprocess(emptyAsUndefined, z.enum(['info', 'debug']).default('info'))
    .describe('`debug` prints the hook\'s debug lines (resolved configuration, pod specs, API request counts) as plain log lines.'),
  ZRH_UNSCHEDULABLE_GRACE_SECONDS: seconds(0).describe('How long an Unschedulable job pod may wait (e.g. for a cluster autoscaler) before prepare_job fails with the scheduler\'s message.'),
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
  readonly unschedulableGraceSeconds: number;
}

/** Reads the configuration from `env` (pass `process.env`). Reports every invalid variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): HookConfig {
  const result = configEnvSchema.safeParse(env, { reportInput: true });
  if (!result.success) {
    throw new HookError('CONFIG_INVALID', `Invalid hook configuration:\n  ${formatIssues(result.error.issues).join('\n  ')}`, {
      hint: 'Fix these environment variables of the runner container.',
    });
  }
  const e = result.data;
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
    unschedulableGraceSeconds: e.ZRH_UNSCHEDULABLE_GRACE_SECONDS,
  };
}
