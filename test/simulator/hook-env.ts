import type { JobFacts } from './step-env.js';
import type { WorkLayout } from './work-layout.js';

/** What the hook process's environment is made of. */
export interface HookEnvSpec {
  readonly layout: WorkLayout;
  readonly facts: JobFacts;
  /** `ACTIONS_RUNNER_POD_NAME` (ARC sets it from `metadata.name`). */
  readonly podName: string;
  /** `ACTIONS_RUNNER_KUBERNETES_NAMESPACE`. */
  readonly namespace: string;
  /** `KUBECONFIG`: the hook's least-privilege identity. */
  readonly kubeconfig: string;
  /** `ACTIONS_RUNNER_CONTAINER_HOOKS`: the hook's path. */
  readonly hookPath: string;
  /** `HOME` of the runner user. */
  readonly home: string;
  /** `PATH` of the runner pod. */
  readonly path: string;
  /** Anything else the runner pod's env has (hook settings such as `ZRH_*`, templates, …). */
  readonly extra?: Readonly<Record<string, string>>;
}

/**
 * The environment the runner starts the hook with: the runner pod's own env (ARC's
 * `ACTIONS_RUNNER_*`, `KUBECONFIG`, extras) plus the runner's `GITHUB_*` allowlist, `RUNNER_*`,
 * `CI` and `GITHUB_ACTIONS`, with runner-side paths (the hook runs in the runner pod).
 * No token is ever part of it.
 */
export function buildHookProcessEnv(spec: HookEnvSpec): Record<string, string> {
  const { layout, facts } = spec;
  return {
    PATH: spec.path,
    HOME: spec.home,
    ACTIONS_RUNNER_CONTAINER_HOOKS: spec.hookPath,
    ACTIONS_RUNNER_POD_NAME: spec.podName,
    ACTIONS_RUNNER_KUBERNETES_NAMESPACE: spec.namespace,
    ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER: 'true',
    KUBECONFIG: spec.kubeconfig,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: facts.repository,
    GITHUB_REPOSITORY_OWNER: facts.repository.split('/')[0] ?? '',
    GITHUB_REF: facts.ref,
    GITHUB_SHA: facts.sha,
    GITHUB_WORKFLOW: facts.workflow,
    GITHUB_WORKFLOW_REF: `${facts.repository}/.github/workflows/ci.yml@${facts.ref}`,
    GITHUB_JOB: facts.job,
    GITHUB_RUN_ID: facts.runId,
    GITHUB_RUN_NUMBER: facts.runNumber,
    GITHUB_RUN_ATTEMPT: facts.runAttempt,
    GITHUB_ACTOR: facts.actor,
    GITHUB_EVENT_NAME: facts.eventName,
    GITHUB_EVENT_PATH: layout.eventPath,
    GITHUB_WORKSPACE: layout.workspace,
    GITHUB_SERVER_URL: 'https://github.com',
    RUNNER_NAME: facts.runnerName,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_ENVIRONMENT: 'self-hosted',
    RUNNER_TEMP: layout.tempDir,
    RUNNER_TOOL_CACHE: layout.toolDir,
    RUNNER_WORKSPACE: layout.repoDir,
    ...spec.extra,
  };
}
