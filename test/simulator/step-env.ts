import { toContainerPath } from './container-paths.js';
import type { StepFileCommands } from './file-commands.js';
import type { WorkLayout } from './work-layout.js';

/** Facts about the workflow run that the runner exposes as `GITHUB_*`/`RUNNER_*`. */
export interface JobFacts {
  readonly repository: string;
  readonly runId: string;
  readonly runNumber: string;
  readonly runAttempt: string;
  readonly job: string;
  readonly workflow: string;
  readonly ref: string;
  readonly sha: string;
  readonly actor: string;
  readonly eventName: string;
  readonly runnerName: string;
  /** Fake runtime token (the runner masks the real one in logs). */
  readonly runtimeToken: string;
}

/** Facts for a push to `main` of `repository`, run by `runnerName`. */
export function defaultJobFacts(repository: string, runnerName: string): JobFacts {
  return {
    repository,
    runId: '4242424242',
    runNumber: '7',
    runAttempt: '1',
    job: 'build',
    workflow: 'CI',
    ref: 'refs/heads/main',
    sha: '1'.repeat(40),
    actor: repository.split('/')[0] ?? 'octocat',
    eventName: 'push',
    runnerName,
    runtimeToken: 'zrh-fake-runtime-token',
  };
}

/**
 * The `GITHUB_*`/`RUNNER_*`/`ACTIONS_*` variables every step gets, with runner paths translated
 * by `translate` (container paths for steps in the job container).
 */
function contextEnv(layout: WorkLayout, facts: JobFacts, translate: (hostPath: string) => string): Record<string, string> {
  const [owner = ''] = facts.repository.split('/');
  const refName = facts.ref.replace(/^refs\/(heads|tags)\//, '');
  return {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_JOB: facts.job,
    GITHUB_REF: facts.ref,
    GITHUB_REF_NAME: refName,
    GITHUB_REF_PROTECTED: 'false',
    GITHUB_REF_TYPE: facts.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    GITHUB_SHA: facts.sha,
    GITHUB_REPOSITORY: facts.repository,
    GITHUB_REPOSITORY_OWNER: owner,
    GITHUB_RUN_ID: facts.runId,
    GITHUB_RUN_NUMBER: facts.runNumber,
    GITHUB_RUN_ATTEMPT: facts.runAttempt,
    GITHUB_RETENTION_DAYS: '90',
    GITHUB_ACTOR: facts.actor,
    GITHUB_TRIGGERING_ACTOR: facts.actor,
    GITHUB_WORKFLOW: facts.workflow,
    GITHUB_WORKFLOW_REF: `${facts.repository}/.github/workflows/ci.yml@${facts.ref}`,
    GITHUB_WORKFLOW_SHA: facts.sha,
    GITHUB_HEAD_REF: '',
    GITHUB_BASE_REF: '',
    GITHUB_EVENT_NAME: facts.eventName,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
    GITHUB_WORKSPACE: translate(layout.workspace),
    GITHUB_EVENT_PATH: translate(layout.eventPath),
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: facts.runnerName,
    RUNNER_ENVIRONMENT: 'self-hosted',
    RUNNER_TOOL_CACHE: translate(layout.toolDir),
    RUNNER_TEMP: translate(layout.tempDir),
    RUNNER_WORKSPACE: translate(layout.repoDir),
    ACTIONS_RUNTIME_URL: 'http://127.0.0.1:9/runtime/',
    ACTIONS_RUNTIME_TOKEN: facts.runtimeToken,
    ACTIONS_CACHE_URL: 'http://127.0.0.1:9/cache/',
    ACTIONS_RESULTS_URL: 'http://127.0.0.1:9/results/',
  };
}

/** What varies per step. */
export interface StepEnvSpec {
  readonly layout: WorkLayout;
  readonly facts: JobFacts;
  readonly fileCommands: StepFileCommands;
  /** `GITHUB_ACTION`: `__run`, `__run_2`, … for `run:` steps, `__<owner>_<name>` for actions. */
  readonly actionId: string;
  /** Workflow, job and step `env:` plus what earlier steps wrote to `GITHUB_ENV` (in that order). */
  readonly env?: Readonly<Record<string, string>>;
  /** Action inputs by input name; become `INPUT_<NAME>` (upper-cased, spaces → `_`). */
  readonly inputs?: Readonly<Record<string, string>>;
  /** For actions: `GITHUB_ACTION_REPOSITORY`/`GITHUB_ACTION_REF`. */
  readonly actionRepository?: { readonly repository: string; readonly ref: string };
}

/** `INPUT_` variable name of an action input, like the runner derives it. */
export function inputVariableName(input: string): string {
  return `INPUT_${input.replace(/ /g, '_').toUpperCase()}`;
}

function inputsEnv(inputs: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(inputs ?? {})) env[inputVariableName(name)] = value;
  return env;
}

/**
 * The full environment of a step that runs in the job container (run_script_step's
 * `environmentVariables`): user env, inputs, then the runner's context variables and the step's
 * file-command paths, all with container paths.
 */
export function buildScriptStepEnv(spec: StepEnvSpec): Record<string, string> {
  const translate = (path: string) => toContainerPath(spec.layout, path);
  return {
    ...spec.env,
    ...inputsEnv(spec.inputs),
    ...contextEnv(spec.layout, spec.facts, translate),
    GITHUB_ACTION: spec.actionId,
    ...(spec.actionRepository
      ? {
          GITHUB_ACTION_REPOSITORY: spec.actionRepository.repository,
          GITHUB_ACTION_REF: spec.actionRepository.ref,
        }
      : {}),
    ...spec.fileCommands.container,
  };
}

/**
 * The environment of a container action (run_container_step's `environmentVariables`): like a
 * script step's, but with the paths the action container sees: `/github/workspace`,
 * `/github/home` (as `HOME`), `/github/workflow`, `/github/file_commands`, `/github/runner_temp`.
 */
export function buildContainerStepEnv(spec: StepEnvSpec): Record<string, string> {
  const { layout } = spec;
  const translate = (path: string): string => {
    const mappings: Array<[string, string]> = [
      [layout.githubHome, '/github/home'],
      [layout.githubWorkflow, '/github/workflow'],
      [layout.fileCommandsDir, '/github/file_commands'],
      [layout.workspace, '/github/workspace'],
      [layout.tempDir, '/github/runner_temp'],
    ];
    for (const [host, container] of mappings) {
      if (path === host) return container;
      if (path.startsWith(`${host}/`)) return container + path.slice(host.length);
    }
    return toContainerPath(layout, path);
  };
  const fileCommands: Record<string, string> = {};
  for (const [name, hostPath] of Object.entries(spec.fileCommands.host)) fileCommands[name] = translate(hostPath);
  return {
    ...spec.env,
    ...inputsEnv(spec.inputs),
    HOME: translate(layout.githubHome),
    ...contextEnv(layout, spec.facts, translate),
    GITHUB_ACTION: spec.actionId,
    ...(spec.actionRepository
      ? {
          GITHUB_ACTION_REPOSITORY: spec.actionRepository.repository,
          GITHUB_ACTION_REF: spec.actionRepository.ref,
        }
      : {}),
    ...fileCommands,
  };
}
