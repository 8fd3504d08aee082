import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { R } from '@zfs-runner-hooks/kube';
import type { WorkspaceState } from '../../protocol/state.js';
import { copyExternalLocally, ensureHookTemp, ensureWorkDirs } from '../local.js';
import { isSingleNode } from '../mode.js';
import { EXTERNALS_REL, GITHUB_HOME_REL, GITHUB_WORKFLOW_REL } from '../paths.js';
import type { Workspace, WorkspaceIo, WorkspaceModeDefinition, WorkspacePlanInput } from './workspace.js';

/**
 * The node every pod of the job must run on: the runner's, when the work claim can be mounted on
 * one node only (access modes from the pod spec, else from the claim) and the hook places pods.
 */
async function pinnedNode(io: WorkspaceIo, input: WorkspacePlanInput): Promise<string | undefined> {
  const { choice, namespace, runnerPod } = input;
  if (io.config.useKubeScheduler) return undefined;
  let modes = choice.accessModes;
  if (!modes && choice.claimName) {
    const pvc = await io.client.find<V1PersistentVolumeClaim>({ type: R.persistentVolumeClaims, namespace, name: choice.claimName }).catch(() => undefined);
    modes = pvc?.spec?.accessModes;
  }
  return isSingleNode(modes) ? runnerPod.spec?.nodeName : undefined;
}

/** Volume mode: the job pod and the step pods mount the claim that holds the runner's `_work`. */
function open(_io: WorkspaceIo, state: WorkspaceState): Workspace {
  return {
    state,
    async prepareRunnerSide() {
      await ensureHookTemp(state.workDir);
      await ensureWorkDirs(state.workDir, [EXTERNALS_REL, GITHUB_HOME_REL, GITHUB_WORKFLOW_REL]);
    },
    jobContainer: (container) => container,
    fillJobPod: async () => state,
    async sendExternals(_target, names) {
      for (const name of names) await copyExternalLocally(state.externalsDir, state.workDir, name);
    },
    sentBeforeScriptStep: () => [],
    stepInput: async () => ({}),
    collectScriptStep: async () => undefined,
    containerStepHelperImage: () => undefined,
    fillStepPod: async () => undefined,
    collectStepPod: async () => undefined,
  };
}

/** Volume mode: `_work` is shared through the runner's work claim. */
export const volumeMode: WorkspaceModeDefinition = {
  async plan(io, input) {
    const { choice, dirs } = input;
    const node = await pinnedNode(io, input);
    return {
      mode: 'volume',
      workDir: dirs.workDir,
      externalsDir: dirs.externalsDir,
      ...(choice.claimName ? { claimName: choice.claimName, claimSubPath: choice.claimSubPath ?? '' } : {}),
      ...(node ? { pinnedNode: node } : {}),
      copiedActions: [],
      copiedExternals: [],
    };
  },
  open,
};
