import { randomUUID } from 'node:crypto';
import { chown, readFile, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toContainerPath } from './container-paths.js';
import { createStepFileCommands, readFileCommands, type FileCommandResults, type StepFileCommands } from './file-commands.js';
import { startHookProcess, type HookProcess, type HookProcessResult } from './hook-process.js';
import { nextState, parseResponse } from './response.js';
import { buildContainerStepEnv, buildScriptStepEnv, type JobFacts } from './step-env.js';
import {
  buildContainerStepContainer,
  cleanupJobInput,
  containerStepInput,
  prepareJobInput,
  scriptStepInput,
  serializeHookInput,
  type HookInput,
  type WorkflowContainer,
} from './stdin.js';
import type { WorkLayout } from './work-layout.js';

/** The bundled hook, as the runner image ships it. */
export const DEFAULT_HOOK_PATH = fileURLToPath(new URL('../../packages/k8s-hook/dist/index.js', import.meta.url));

/** Shells a `run:` step can use, with the runner's argument templates (`{0}` = script path). */
export const SHELLS = {
  bash: { entryPoint: 'bash', args: '--noprofile --norc -e -o pipefail {0}', extension: '.sh' },
  sh: { entryPoint: 'sh', args: '-e {0}', extension: '.sh' },
} as const;

export interface RunnerSimulatorOptions {
  readonly layout: WorkLayout;
  readonly facts: JobFacts;
  /** The hook process's complete environment (see `buildHookProcessEnv`). */
  readonly hookEnv: Readonly<Record<string, string>>;
  /** @default DEFAULT_HOOK_PATH */
  readonly hookPath?: string;
  /** @default process.execPath */
  readonly node?: string;
  /** Workflow- and job-level `env:` every step gets. */
  readonly env?: Readonly<Record<string, string>>;
  /** Live output of the hook processes. */
  readonly onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Run the hook as this user. @default the current user */
  readonly hookUser?: { readonly uid: number; readonly gid: number };
  /** Scheduling priority of the hook processes (see `HookProcessSpec.priority`). @default inherited */
  readonly hookPriority?: number;
  /** Called by `dispose()` (e.g. to delete the runner pod). */
  readonly onDispose?: () => Promise<void>;
  /**
   * Awaited between the hook's exit and reading its response: the moment a process in the job
   * pod can still change the response file (the runner is no faster; a test uses it to let such
   * a process finish deterministically).
   */
  readonly beforeReadingResponse?: (responseFile: string, command: HookInput['command']) => Promise<void>;
}

/** One hook invocation, as the runner saw it. */
export interface HookCall extends HookProcessResult {
  readonly command: HookInput['command'];
  readonly input: HookInput;
  /** Exactly what was written to stdin. */
  readonly stdin: string;
  /** The response file's text after the call (null when the hook deleted it). */
  readonly responseText: string | null;
  /** The parsed response, or null when there was none. */
  readonly response: Record<string, unknown> | null;
  /** Why the runner would reject the response. */
  readonly responseProblems: readonly string[];
  /** Exit code 0 and an acceptable response: the runner would carry on. */
  readonly ok: boolean;
  /** `state` before and after the call. */
  readonly stateBefore: unknown;
  readonly stateAfter: unknown;
}

/** A step's call plus what it wrote to its file commands. */
export interface StepCall extends HookCall {
  readonly name: string;
  readonly fileCommands: FileCommandResults;
}

export interface ScriptOptions {
  /** Step `env:` (wins over the workflow env and `GITHUB_ENV`). */
  readonly env?: Readonly<Record<string, string>>;
  /** @default 'sh' (the runner's default inside a job container) */
  readonly shell?: keyof typeof SHELLS | { readonly entryPoint: string; readonly args: string; readonly extension?: string };
  /** `working-directory:` (relative to the workspace, or absolute container path). */
  readonly workingDirectory?: string;
  /** Extra `prependPath` entries (most recent first), before those from `GITHUB_PATH`. */
  readonly prependPath?: readonly string[];
  /** A name for reports. */
  readonly name?: string;
}

/**
 * Plays the GitHub Actions runner for the hook: writes each command's stdin exactly like the
 * runner, creates the empty response file, runs the hook as a separate process in the
 * workspace, reads the response, carries `state` forward, and after each step reads the
 * file commands back and applies `GITHUB_ENV`/`GITHUB_PATH` to later steps.
 */
export class RunnerSimulator {
  readonly layout: WorkLayout;
  readonly facts: JobFacts;
  readonly calls: HookCall[] = [];
  private readonly options: RunnerSimulatorOptions;
  private currentState: unknown = null;
  private readonly jobEnv: Record<string, string> = {};
  private readonly pathAdded: string[] = [];
  private fileCommands: StepFileCommands | undefined;
  private runSteps = 0;
  private running: HookProcess | undefined;

  constructor(options: RunnerSimulatorOptions) {
    this.options = options;
    this.layout = options.layout;
    this.facts = options.facts;
  }

  /** The environment every hook process gets (the runner pod's). */
  get hookEnv(): Readonly<Record<string, string>> {
    return { ...this.options.hookEnv };
  }

  /** The state the next command will receive. */
  get state(): unknown {
    return this.currentState;
  }

  /** Overrides the carried state (e.g. `null` to replay cleanup after a failed prepare_job). */
  setState(state: unknown): void {
    this.currentState = state;
  }

  /** Variables earlier steps set through `GITHUB_ENV`. */
  get env(): Readonly<Record<string, string>> {
    return { ...this.jobEnv };
  }

  /** `prependPath` as the next step gets it (most recent `GITHUB_PATH` entry first). */
  get prependPath(): readonly string[] {
    return [...this.pathAdded].reverse();
  }

  /** prepare_job with a job container (or null) and services. */
  async prepareJob(container: WorkflowContainer | null, services: readonly WorkflowContainer[] = []): Promise<HookCall> {
    return this.call((responseFile) => prepareJobInput(this.layout, responseFile, container, services));
  }

  /** cleanup_job with the carried state. */
  async cleanupJob(): Promise<HookCall> {
    return this.call((responseFile) => cleanupJobInput(responseFile, this.currentState));
  }

  /** A `run:` step: writes the script to `_temp/<guid>.sh` like the runner, then run_script_step. */
  async runScript(script: string, options: ScriptOptions = {}): Promise<StepCall> {
    const shell = typeof options.shell === 'object' ? options.shell : SHELLS[options.shell ?? 'sh'];
    const guid = randomUUID();
    const scriptFile = join(this.layout.tempDir, `${guid}${shell.extension ?? '.sh'}`);
    await writeFile(scriptFile, script);
    if (this.layout.owner) await chown(scriptFile, this.layout.owner.uid, this.layout.owner.gid);
    this.runSteps += 1;
    const actionId = this.runSteps === 1 ? '__run' : `__run_${this.runSteps}`;
    return this.step(options.name ?? `run #${this.runSteps}`, (fileCommands, responseFile) =>
      scriptStepInput(
        responseFile,
        {
          entryPoint: shell.entryPoint,
          entryPointArgs: shell.args.replace('{0}', toContainerPath(this.layout, scriptFile)),
          environmentVariables: buildScriptStepEnv({
            layout: this.layout,
            facts: this.facts,
            fileCommands,
            actionId,
            env: { ...this.options.env, ...this.jobEnv, ...options.env },
          }),
          prependPath: [...(options.prependPath ?? []), ...this.prependPath],
          workingDirectory: this.workingDirectory(options.workingDirectory),
        },
        this.currentState,
      ),
    );
  }

  /** A JavaScript action step (`uses: <owner>/<name>@<ref>` of the layout's action) on node20. */
  async runJsAction(options: { readonly inputs?: Readonly<Record<string, string>>; readonly env?: Readonly<Record<string, string>> } = {}): Promise<StepCall> {
    const { action } = this.layout;
    const repository = `${action.owner}/${action.name}`;
    return this.step(`uses ${repository}@${action.ref}`, (fileCommands, responseFile) =>
      scriptStepInput(
        responseFile,
        {
          entryPoint: toContainerPath(this.layout, join(this.layout.externalsDir, 'node20/bin/node')),
          entryPointArgs: `"${toContainerPath(this.layout, action.entry)}"`,
          environmentVariables: buildScriptStepEnv({
            layout: this.layout,
            facts: this.facts,
            fileCommands,
            actionId: `__${action.owner}_${action.name}`,
            env: { ...this.options.env, ...this.jobEnv, ...options.env },
            inputs: options.inputs,
            actionRepository: { repository, ref: action.ref },
          }),
          prependPath: this.prependPath,
          workingDirectory: this.workingDirectory(undefined),
        },
        this.currentState,
      ),
    );
  }

  /** A container action step (`uses: docker://<image>`): run_container_step. */
  async runContainerStep(action: {
    readonly image: string;
    readonly entryPoint?: string | null;
    readonly args?: readonly string[];
    readonly inputs?: Readonly<Record<string, string>>;
    readonly env?: Readonly<Record<string, string>>;
  }): Promise<StepCall> {
    return this.step(`uses docker://${action.image}`, (fileCommands, responseFile) =>
      containerStepInput(
        responseFile,
        buildContainerStepContainer(this.layout, {
          image: action.image,
          entryPoint: action.entryPoint ?? null,
          args: action.args ?? [],
          environmentVariables: buildContainerStepEnv({
            layout: this.layout,
            facts: this.facts,
            fileCommands,
            actionId: '__docker',
            env: { ...this.options.env, ...this.jobEnv, ...action.env },
            inputs: action.inputs,
          }),
        }),
        this.currentState,
      ),
    );
  }

  /** Sends any stdin object (built around the response file path) and records the call. */
  async call(build: (responseFile: string) => HookInput): Promise<HookCall> {
    if (this.running) throw new Error('a hook command is already running');
    const responseFile = join(this.layout.responsesDir, `${randomUUID()}.json`);
    await writeFile(responseFile, '');
    // The runner creates it as its own user, the one the hook runs as.
    if (this.options.hookUser) await chown(responseFile, this.options.hookUser.uid, this.options.hookUser.gid);
    const input = build(responseFile);
    const stdin = serializeHookInput(input);
    const stateBefore = this.currentState;
    this.running = startHookProcess({
      node: this.options.node ?? process.execPath,
      hookPath: this.options.hookPath ?? DEFAULT_HOOK_PATH,
      cwd: this.layout.workspace,
      env: this.options.hookEnv,
      stdin,
      ...(this.options.onOutput ? { onOutput: this.options.onOutput } : {}),
      ...(this.options.hookUser ? { user: this.options.hookUser } : {}),
      ...(this.options.hookPriority !== undefined ? { priority: this.options.hookPriority } : {}),
    });
    let result: HookProcessResult;
    try {
      result = await this.running.done;
    } finally {
      this.running = undefined;
    }
    await this.options.beforeReadingResponse?.(responseFile, input.command);
    const responseText = await readFile(responseFile, 'utf8').catch(() => null);
    await rm(responseFile, { force: true });
    const { response, problems } = parseResponse(input, responseText);
    if (result.exitCode === 0 && problems.length === 0) this.currentState = nextState(this.currentState, response);
    const call: HookCall = {
      ...result,
      command: input.command,
      input,
      stdin,
      responseText,
      response,
      responseProblems: problems,
      ok: result.exitCode === 0 && problems.length === 0,
      stateBefore,
      stateAfter: this.currentState,
    };
    this.calls.push(call);
    return call;
  }

  /** Sends `signal` to the running hook process (like the runner on cancellation). */
  kill(signal: NodeJS.Signals = 'SIGINT'): boolean {
    return this.running?.kill(signal) ?? false;
  }

  /** Whether a hook process is running now. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /**
   * Cancels the running command the way the runner does: SIGINT, SIGTERM 7.5 s later, SIGKILL
   * 2.5 s after that (delays adjustable), stopping as soon as the process is gone.
   */
  async cancel(delays: { readonly termAfterMs?: number; readonly killAfterMs?: number } = {}): Promise<void> {
    const proc = this.running;
    if (!proc) return;
    const gone = proc.done.then(
      () => true,
      () => true,
    );
    const within = (ms: number) => Promise.race([gone, new Promise<false>((r) => setTimeout(() => r(false), ms))]);
    proc.kill('SIGINT');
    if (await within(delays.termAfterMs ?? 7_500)) return;
    proc.kill('SIGTERM');
    if (await within(delays.killAfterMs ?? 2_500)) return;
    proc.kill('SIGKILL');
    await gone;
  }

  /** Reads the current step's file commands again. */
  async readFileCommands(): Promise<FileCommandResults | undefined> {
    return this.fileCommands ? readFileCommands(this.fileCommands) : undefined;
  }

  /** Runs `onDispose` (deletes the runner pod when `start` created one). */
  async dispose(): Promise<void> {
    await this.options.onDispose?.();
  }

  private async step(name: string, build: (fileCommands: StepFileCommands, responseFile: string) => HookInput): Promise<StepCall> {
    const fileCommands = await createStepFileCommands(this.layout, randomUUID(), this.fileCommands);
    if (this.layout.owner) {
      for (const path of Object.values(fileCommands.host)) await chown(path, this.layout.owner.uid, this.layout.owner.gid);
    }
    this.fileCommands = fileCommands;
    const call = await this.call((responseFile) => build(fileCommands, responseFile));
    const results = await readFileCommands(fileCommands);
    if (call.exitCode === 0) {
      Object.assign(this.jobEnv, results.env);
      for (const entry of results.path) {
        const at = this.pathAdded.indexOf(entry);
        if (at >= 0) this.pathAdded.splice(at, 1);
        this.pathAdded.push(entry);
      }
    }
    const stepCall: StepCall = { ...call, name, fileCommands: results };
    this.calls[this.calls.length - 1] = stepCall;
    return stepCall;
  }

  private workingDirectory(dir: string | undefined): string {
    const workspace = toContainerPath(this.layout, this.layout.workspace);
    if (dir === undefined) return workspace;
    return dir.startsWith('/') ? dir : posix.join(workspace, dir);
  }
}
