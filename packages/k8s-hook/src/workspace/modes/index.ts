import type { WorkspaceMode, WorkspaceState } from '../../protocol/state.js';
import { copyMode } from './copy.js';
import { volumeMode } from './volume.js';
import type { Workspace, WorkspaceIo, WorkspaceModeDefinition, WorkspacePlanInput } from './workspace.js';

export type { Mark, ScriptStepInput, StepPodRef, Workspace, WorkspaceIo, WorkspacePlanInput } from './workspace.js';

/** Every workspace mode of the job state, by name. */
const MODES: { readonly [M in WorkspaceMode]: WorkspaceModeDefinition } = { volume: volumeMode, copy: copyMode };

/** prepare_job: the workspace state of a new job, in the mode `input.choice` names. */
export function planWorkspaceState(io: WorkspaceIo, input: WorkspacePlanInput): Promise<WorkspaceState> {
  return MODES[input.choice.mode].plan(io, input);
}

/** The workspace of a job, in the mode its state names. */
export function workspaceFor(io: WorkspaceIo, state: WorkspaceState): Workspace {
  return MODES[state.mode].open(io, state);
}
