import { posix } from 'node:path';
import type { MountVolume } from '../protocol/input.js';

/** The job container's path of the runner's `_work`. */
export const CONTAINER_WORK = '/__w';
/** The job container's path of the runner's externals. */
export const CONTAINER_EXTERNALS = '/__e';
/** Where externals live inside `_work` (volume mode) or the work emptyDir (copy mode). */
export const EXTERNALS_REL = '_externals';
/** Runner-written folders inside `_work`. */
export const FILE_COMMANDS_REL = '_temp/_runner_file_commands';
export const GITHUB_HOME_REL = '_temp/_github_home';
export const GITHUB_WORKFLOW_REL = '_temp/_github_workflow';
/** The hook's own scratch folder inside `_work/_temp` (env files, pid files). */
export const HOOK_TEMP_REL = '_temp/_zrh';

/** The runner's directories on the runner pod. */
export interface RunnerDirs {
  /** `_work`, e.g. `/home/runner/_work`. */
  readonly workDir: string;
  /** e.g. `/home/runner/externals`. */
  readonly externalsDir: string;
}

/**
 * Finds the runner's `_work` and externals: from prepare_job's `systemMountVolumes` (`/__w`,
 * `/__e`), else `_work` from the response file's location (`<work>/_temp/_runner_hook_responses/`)
 * and externals from the node binary running the hook (`<externals>/node20/bin/node`).
 */
export function resolveRunnerDirs(mounts: readonly MountVolume[], responseFile: string, nodeExecPath: string): RunnerDirs | undefined {
  const source = (target: string) => mounts.find((m) => posix.normalize(m.targetVolumePath) === target)?.sourceVolumePath;
  let workDir = source(CONTAINER_WORK);
  if (!workDir) {
    const responses = posix.dirname(responseFile);
    const temp = posix.dirname(responses);
    if (posix.basename(responses) === '_runner_hook_responses' && posix.basename(temp) === '_temp') workDir = posix.dirname(temp);
  }
  if (!workDir) return undefined;
  const externalsDir = source(CONTAINER_EXTERNALS) ?? posix.dirname(posix.dirname(posix.dirname(nodeExecPath)));
  return { workDir: posix.normalize(workDir), externalsDir: posix.normalize(externalsDir) };
}

/** `child` relative to `parent` when it is `parent` or inside it, else undefined. */
export function relativeInside(parent: string, child: string): string | undefined {
  const rel = posix.relative(posix.normalize(parent), posix.normalize(child));
  if (rel === '') return '';
  if (rel === '..' || rel.startsWith('../') || posix.isAbsolute(rel)) return undefined;
  return rel;
}

/** A job-container path under `/__w` as a path relative to `_work`, else undefined. */
export function workRelative(containerPath: string): string | undefined {
  return relativeInside(CONTAINER_WORK, containerPath);
}
