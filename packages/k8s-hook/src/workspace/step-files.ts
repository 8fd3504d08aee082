import { posix } from 'node:path';
import { CONTAINER_EXTERNALS, FILE_COMMANDS_REL, workRelative } from './paths.js';

/** What a copy-mode script step needs in the job pod before it runs. */
export interface StepCopyPlan {
  /** Paths relative to `_work` to send (files or folders). */
  readonly workPaths: readonly string[];
  /** Action folders (`_actions/<owner>/<repo>/<ref>`) among them not sent before. */
  readonly newActions: readonly string[];
  /** Externals folders (`node20`, …) the step uses that are not in the pod yet. */
  readonly newExternals: readonly string[];
}

/** Inputs of `planStepCopy`. */
export interface StepCopyInput {
  readonly entryPoint: string;
  /** Arguments after `normalizeArgs`. */
  readonly args: readonly string[];
  readonly copiedActions: readonly string[];
  readonly copiedExternals: readonly string[];
}

/**
 * Plans the per-step copy: the step's own files in `_work/_temp` (its script), the action folder
 * of a JavaScript action when it is not in the pod yet, the whole file-commands folder, and the
 * externals folder of the entry point (e.g. `/__e/node20/bin/node` → `node20`). Never all of
 * `_temp`.
 */
export function planStepCopy(input: StepCopyInput): StepCopyPlan {
  const workPaths = new Set<string>([FILE_COMMANDS_REL]);
  const newActions = new Set<string>();
  const newExternals = new Set<string>();
  for (const word of [input.entryPoint, ...input.args]) {
    if (!word.startsWith('/')) continue;
    const path = posix.normalize(word);
    const ext = path.startsWith(`${CONTAINER_EXTERNALS}/`) ? path.slice(CONTAINER_EXTERNALS.length + 1).split('/')[0] : undefined;
    if (ext && !input.copiedExternals.includes(ext)) newExternals.add(ext);
    const rel = workRelative(path);
    if (!rel) continue;
    const parts = rel.split('/');
    if (parts[0] === '_temp' && parts.length === 2) workPaths.add(rel);
    if (parts[0] === '_actions' && parts.length >= 4) {
      const action = parts.slice(0, 4).join('/');
      if (!input.copiedActions.includes(action)) {
        newActions.add(action);
        workPaths.add(action);
      }
    }
  }
  return { workPaths: [...workPaths], newActions: [...newActions], newExternals: [...newExternals] };
}
