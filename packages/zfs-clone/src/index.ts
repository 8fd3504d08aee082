export { ZfsCloneError, type ZfsCloneErrorCode } from './errors.js';
export {
  resolveCloneConfig,
  resolveCloneConfigOrThrow,
  type CloneConfig,
  type ResolveResult,
  type ResolveContext,
} from './config/resolve.js';
export { parseSource, formatSource, type CloneSource } from './config/source.js';
export { workflowSettingsSchema, type SnapshotBackPolicy } from './config/workflow-settings.js';
export { runnerSettingsSchema } from './config/runner-settings.js';
