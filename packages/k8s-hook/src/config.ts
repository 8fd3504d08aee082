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
  /** Required: the runner pod's name; labels and owns everything the hook creates. */
  ACTIONS_RUNNER_POD_NAME: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'expected a Kubernetes pod name'),
  /** Namespace override; @default the kubeconfig / in-cluster namespace. */
  ACTIONS_RUNNER_KUBERNETES_NAMESPACE: optionalText,
  /** Path to the YAML pod template (hook extension). */
  ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE: optionalText,
  /** How long to wait for a pod to become ready; @default 600. */
  ACTIONS_RUNNER_PREPARE_JOB_TIMEOUT_SECONDS: seconds(600),
  /** The runner's work claim (volume mode); @default read from the runner pod, else `<pod>-work`. */
  ACTIONS_RUNNER_CLAIM_NAME: optionalText,
  /** `true`: no node affinity to the runner's node in volume mode (RWX claims). */
  ACTIONS_RUNNER_USE_KUBE_SCHEDULER: flag,
  /** Image with `sh` and `tar` for copy-mode container steps; @default the job container's image. */
  ACTIONS_RUNNER_IMAGE: optionalText,
  /** `auto` (default), `volume` or `copy`. */
  ZRH_WORKSPACE_MODE: z.preprocess(emptyAsUndefined, z.enum(['auto', 'volume', 'copy']).default('auto')),
  /** `info` (default) or `debug` (debug lines printed as plain log lines). */
  ZRH_LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(['info', 'debug']).default('info')),
  /** How long an Unschedulable pod may wait (e.g. for a cluster autoscaler); @default 0 (fail at once). */
  ZRH_UNSCHEDULABLE_GRACE_SECONDS: seconds(0),
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
