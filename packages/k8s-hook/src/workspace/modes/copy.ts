import { HookError } from '../../errors.js';
import { copyFromPod, copyToPod, localTar } from '../../kube/tar.js';
import type { WorkspaceState } from '../../protocol/state.js';
import { existing, listActionDirs } from '../local.js';
import { CONTAINER_WORK, EXTERNALS_REL, FILE_COMMANDS_REL, GITHUB_HOME_REL, GITHUB_WORKFLOW_REL, workRelative } from '../paths.js';
import { copyIntoStepPod, copyOutOfStepPod } from './copy-step-pod.js';
import type { Workspace, WorkspaceIo, WorkspaceModeDefinition } from './workspace.js';

/**
 * Copy mode: every pod has an emptyDir of its own for `_work`, filled through `tar` over exec:
 * the job pod once it is ready, the job container before each script step, a step pod while its
 * `zrh-io` container holds the step; results come back the same way.
 */
function open(io: WorkspaceIo, state: WorkspaceState): Workspace {
  const sentBeforeScriptStep: Workspace['sentBeforeScriptStep'] = (plan, envRel) => [...plan.workPaths, envRel];
  return {
    state,
    prepareRunnerSide: async () => undefined,
    // No workingDir in the pod spec: the runtime would create it (and its parents) as root before
    // the workspace is copied in, and a non-root job user could then not fill it; each step enters
    // its working directory itself.
    jobContainer: (container) => ({ ...container, workingDirectory: undefined }),
    fillJobPod: (target, workingDirectory) =>
      io.log.group('Copying the workspace into the job pod', async () => {
        const wsRel = workingDirectory ? workRelative(workingDirectory)?.split('/')[0] : undefined;
        const rels = await existing(state.workDir, [...(wsRel ? [wsRel] : []), '_actions', '_tool', GITHUB_HOME_REL, GITHUB_WORKFLOW_REL]);
        await copyToPod(io.client, target, state.workDir, rels, CONTAINER_WORK, io.signal);
        const copiedActions = await listActionDirs(state.workDir);
        io.log.info(`Copied ${rels.join(', ')}`);
        return { ...state, copiedActions };
      }),
    sendExternals: (target, names) => copyToPod(io.client, target, state.externalsDir, names, `${CONTAINER_WORK}/${EXTERNALS_REL}`, io.signal),
    sentBeforeScriptStep,
    async stepInput(plan, envRel) {
      const rels = await existing(state.workDir, sentBeforeScriptStep(plan, envRel));
      io.log.debug(`Sending ${rels.join(', ')}`);
      const tar = localTar(state.workDir, rels);
      return { stdin: tar.stream, sent: tar.done, untarDir: CONTAINER_WORK };
    },
    collectScriptStep: (target) =>
      copyFromPod(io.client, target, { dir: CONTAINER_WORK, allowed: [FILE_COMMANDS_REL], root: state.workDir, signal: io.signal }),
    containerStepHelperImage(jobImage) {
      const image = io.config.helperImage ?? jobImage;
      if (!image)
        throw new HookError('UNSUPPORTED', 'Copy mode container steps need ACTIONS_RUNNER_IMAGE (an image with sh and tar) when the job has no job container');
      return image;
    },
    fillStepPod: (step, mounts, resourceVersion, mark) => copyIntoStepPod(io, state, step, mounts, resourceVersion, mark),
    async collectStepPod(step, mounts, mark) {
      await copyOutOfStepPod(io, state, step, mounts);
      mark('copied out');
    },
  };
}

/** Copy mode: `_work` is not on a claim the job pod can mount, so it is copied. */
export const copyMode: WorkspaceModeDefinition = {
  plan: async (_io, { dirs }) => ({ mode: 'copy', workDir: dirs.workDir, externalsDir: dirs.externalsDir, copiedActions: [], copiedExternals: [] }),
  open,
};
