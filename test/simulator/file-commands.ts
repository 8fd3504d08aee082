import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toContainerPath } from './container-paths.js';
import type { WorkLayout } from './work-layout.js';

/** The file commands the runner creates for every step: env variable → file name prefix. */
export const FILE_COMMANDS = {
  GITHUB_PATH: 'add_path_',
  GITHUB_ENV: 'set_env_',
  GITHUB_OUTPUT: 'set_output_',
  GITHUB_STATE: 'save_state_',
  GITHUB_STEP_SUMMARY: 'step_summary_',
  GITHUB_ARTIFACTS: 'artifacts_',
  GITHUB_ARTIFACTS_LIST: 'artifacts_list_',
} as const;

export type FileCommandName = keyof typeof FILE_COMMANDS;

/** One step's file-command files. */
export interface StepFileCommands {
  readonly guid: string;
  /** Host path of each file. */
  readonly host: Readonly<Record<FileCommandName, string>>;
  /** The same files as the job container sees them (what the step's env points at). */
  readonly container: Readonly<Record<FileCommandName, string>>;
}

/** What a step wrote into its file commands, read back after the step like the runner does. */
export interface FileCommandResults {
  /** Raw content of each file (`''` when empty or missing). */
  readonly raw: Readonly<Record<FileCommandName, string>>;
  /** Names of the files that were gone after the step. */
  readonly missing: readonly FileCommandName[];
  readonly env: Readonly<Record<string, string>>;
  readonly outputs: Readonly<Record<string, string>>;
  readonly state: Readonly<Record<string, string>>;
  /** Lines of `GITHUB_PATH`, in file order. */
  readonly path: readonly string[];
  readonly summary: string;
}

const NAMES = Object.keys(FILE_COMMANDS) as FileCommandName[];

/** Plans the file-command paths of the step with this guid (pure). */
export function planStepFileCommands(layout: WorkLayout, guid: string): StepFileCommands {
  const host = {} as Record<FileCommandName, string>;
  const container = {} as Record<FileCommandName, string>;
  for (const name of NAMES) {
    host[name] = join(layout.fileCommandsDir, `${FILE_COMMANDS[name]}${guid}`);
    container[name] = toContainerPath(layout, host[name]);
  }
  return { guid, host, container };
}

/**
 * Creates the step's empty file-command files, deleting the previous step's first (the runner
 * keeps only the current step's files in `_runner_file_commands`).
 */
export async function createStepFileCommands(layout: WorkLayout, guid: string, previous?: StepFileCommands): Promise<StepFileCommands> {
  if (previous) for (const name of NAMES) await rm(previous.host[name], { force: true });
  const step = planStepFileCommands(layout, guid);
  for (const name of NAMES) await writeFile(step.host[name], '');
  return step;
}

/** Reads back and parses what the step wrote. */
export async function readFileCommands(step: StepFileCommands): Promise<FileCommandResults> {
  const raw = {} as Record<FileCommandName, string>;
  const missing: FileCommandName[] = [];
  for (const name of NAMES) {
    try {
      raw[name] = await readFile(step.host[name], 'utf8');
    } catch {
      raw[name] = '';
      missing.push(name);
    }
  }
  return {
    raw,
    missing,
    env: parseKeyValueFile(raw.GITHUB_ENV),
    outputs: parseKeyValueFile(raw.GITHUB_OUTPUT),
    state: parseKeyValueFile(raw.GITHUB_STATE),
    path: raw.GITHUB_PATH.split(/\r?\n/).filter((line) => line.trim() !== ''),
    summary: raw.GITHUB_STEP_SUMMARY,
  };
}

/**
 * Parses the `GITHUB_ENV`/`GITHUB_OUTPUT`/`GITHUB_STATE` format like the runner: `name=value`
 * lines and `name<<DELIMITER` … `DELIMITER` blocks. Throws on an unterminated block.
 */
export function parseKeyValueFile(content: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = content.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') continue;
    const eq = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (eq > 0 && (heredoc < 0 || eq < heredoc)) {
      result[line.slice(0, eq)] = line.slice(eq + 1);
      continue;
    }
    if (heredoc > 0) {
      const key = line.slice(0, heredoc);
      const delimiter = line.slice(heredoc + 2);
      const body: string[] = [];
      let j = i + 1;
      while (j < lines.length && lines[j] !== delimiter) body.push(lines[j++] ?? '');
      if (j >= lines.length) throw new Error(`unterminated "${key}<<${delimiter}" block`);
      result[key] = body.join('\n');
      i = j;
      continue;
    }
    throw new Error(`invalid file-command line: ${JSON.stringify(line)}`);
  }
  return result;
}
