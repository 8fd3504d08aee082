import { chmod, chown, copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SAMPLE_ACTION, SAMPLE_ACTION_JS, SAMPLE_ACTION_YML, type ActionRef } from './sample-action.js';

/** The user the runner image runs as (`runner`, uid 1001, group `docker` gid 123). */
export const RUNNER_USER = { uid: 1001, gid: 123 } as const;

/** What to lay out. */
export interface WorkLayoutSpec {
  /** Host folder that plays the runner's `/home/runner/_work` (created if missing). */
  readonly workDir: string;
  /** Host folder that plays the runner's `/home/runner/externals` (created if missing). */
  readonly externalsDir: string;
  /** `<owner>/<repo>` of the job. */
  readonly repository: string;
  /** The JavaScript action to place under `_actions`. @default SAMPLE_ACTION */
  readonly action?: ActionRef;
  /** Node binary copied to `externals/node20/bin/node`. @default process.execPath */
  readonly nodeBinary?: string;
  /**
   * Owner given to everything under `_work`, like files the runner (uid 1001) creates.
   * `null` keeps the creating process's user. @default RUNNER_USER
   */
  readonly owner?: { readonly uid: number; readonly gid: number } | null;
  /** The webhook payload written to `_github_workflow/event.json`. */
  readonly event?: unknown;
}

/** Host paths of a laid-out `_work` (and externals), and how they look inside a job container. */
export interface WorkLayout {
  readonly repository: string;
  readonly workDir: string;
  readonly externalsDir: string;
  /** `_work/<repo>` (`RUNNER_WORKSPACE`). */
  readonly repoDir: string;
  /** `_work/<repo>/<repo>` (`GITHUB_WORKSPACE`, the hook's cwd). */
  readonly workspace: string;
  readonly tempDir: string;
  readonly fileCommandsDir: string;
  readonly githubHome: string;
  readonly githubWorkflow: string;
  readonly eventPath: string;
  readonly responsesDir: string;
  readonly actionsDir: string;
  readonly toolDir: string;
  readonly action: ActionRef & {
    /** Host folder of the action. */
    readonly dir: string;
    /** Host path of `dist/index.js`. */
    readonly entry: string;
  };
  readonly owner: { readonly uid: number; readonly gid: number } | null;
}

/** Files put in the workspace, as if `actions/checkout` had run (relative path → content). */
export const WORKSPACE_FILES: Readonly<Record<string, string>> = {
  'README.md': '# sample\n\nA repository checked out by the runner simulator.\n',
  'src/hello.sh': '#!/bin/sh\necho "hello from the workspace"\n',
  'data/unicode.txt': 'grüße — 你好 — 🚀\n',
  'ci/container-step.sh':
    '#!/bin/sh\nset -e\necho "container step in $PWD as $(id -u), HOME=$HOME"\nls\n' +
    'echo "written by a container step" > container-step.txt\necho "container=ok" >> "$GITHUB_OUTPUT"\n',
};

/** The default `event.json`: a push event for the repository. */
export function defaultEvent(repository: string): unknown {
  const [owner = 'owner', name = 'repo'] = repository.split('/');
  return {
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after: '1'.repeat(40),
    repository: { full_name: repository, name, owner: { login: owner } },
    sender: { login: owner },
  };
}

/** Splits `<owner>/<repo>`; throws on anything else. */
export function splitRepository(repository: string): { owner: string; name: string } {
  const parts = repository.split('/');
  const [owner, name] = parts;
  if (parts.length !== 2 || !owner || !name) {
    throw new Error(`repository "${repository}" is not <owner>/<repo>`);
  }
  return { owner, name };
}

/** Computes where everything of a layout lives, without touching the disk. */
export function planWorkLayout(spec: WorkLayoutSpec): WorkLayout {
  const { name } = splitRepository(spec.repository);
  const action = spec.action ?? SAMPLE_ACTION;
  const tempDir = join(spec.workDir, '_temp');
  const actionDir = join(spec.workDir, '_actions', action.owner, action.name, action.ref);
  const githubWorkflow = join(tempDir, '_github_workflow');
  return {
    repository: spec.repository,
    workDir: spec.workDir,
    externalsDir: spec.externalsDir,
    repoDir: join(spec.workDir, name),
    workspace: join(spec.workDir, name, name),
    tempDir,
    fileCommandsDir: join(tempDir, '_runner_file_commands'),
    githubHome: join(tempDir, '_github_home'),
    githubWorkflow,
    eventPath: join(githubWorkflow, 'event.json'),
    responsesDir: join(tempDir, '_runner_hook_responses'),
    actionsDir: join(spec.workDir, '_actions'),
    toolDir: join(spec.workDir, '_tool'),
    action: { ...action, dir: actionDir, entry: join(actionDir, 'dist', 'index.js') },
    owner: spec.owner === undefined ? RUNNER_USER : spec.owner,
  };
}

/**
 * Lays out a runner's `_work` for one job like the runner does before the first step: the
 * workspace with a few files, `_temp` with its `_runner_file_commands`, `_github_home`,
 * `_github_workflow/event.json` and `_runner_hook_responses`, a JavaScript action under
 * `_actions`, `_tool`, and `externals/node20/bin/node`.
 */
export async function layOutWork(spec: WorkLayoutSpec): Promise<WorkLayout> {
  const layout = planWorkLayout(spec);
  const dirs = [
    layout.workspace,
    layout.fileCommandsDir,
    layout.githubHome,
    layout.githubWorkflow,
    layout.responsesDir,
    join(layout.action.dir, 'dist'),
    layout.toolDir,
  ];
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  for (const [rel, content] of Object.entries(WORKSPACE_FILES)) {
    const file = join(layout.workspace, rel);
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, content);
    if (rel.endsWith('.sh')) await chmod(file, 0o755);
  }
  await writeFile(layout.eventPath, JSON.stringify(spec.event ?? defaultEvent(spec.repository)));
  await writeFile(join(layout.action.dir, 'action.yml'), SAMPLE_ACTION_YML);
  await writeFile(layout.action.entry, SAMPLE_ACTION_JS);
  if (layout.owner) await chownTree(spec.workDir, layout.owner.uid, layout.owner.gid);

  const nodeDir = join(spec.externalsDir, 'node20', 'bin');
  await mkdir(nodeDir, { recursive: true });
  await copyFile(spec.nodeBinary ?? process.execPath, join(nodeDir, 'node'));
  await chmod(join(nodeDir, 'node'), 0o755);
  return layout;
}

/** Gives `dir` and everything below it to `uid:gid` (like files the runner user created). */
export async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, uid, gid);
    else await chown(path, uid, gid);
  }
}
