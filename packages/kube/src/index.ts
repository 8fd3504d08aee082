export type * from './types.js';
export { R } from './resources.js';
export { createKubeClient, type KubeClientOptions } from './client.js';
export type { RetryOptions } from './retry.js';
export { describeStats } from './stats.js';
export { watchUntil, type WatchUntilOptions, type WatchUntilEvent, type WatchUntilEventType, type WatchStep } from './watch-until.js';
export type { KubeConnectionConfig } from './config/connection.js';
export {
  loadKubeConfig,
  loadKubeConfigFile,
  loadKubeConfigFiles,
  loadInClusterConfig,
  SERVICE_ACCOUNT_DIR,
  type LoadKubeConfigOptions,
} from './config/load.js';
export {
  KubeError,
  KubeConfigError,
  KubeApiError,
  KubeConnectionError,
  ExecError,
  ExecStreamError,
  ExecAbortedError,
  ExecTimeoutError,
  isKubeError,
  isKubeApiError,
  isNotFound,
  isAlreadyExists,
  isConflict,
  isGone,
  isForbidden,
  isInvalid,
  type KubeErrorCode,
  type KubeApiErrorDetails,
  type StatusCause,
} from './errors.js';
export { resourcePath, encodeQuery } from './paths.js';
