import { withHint, type HintedErrorOptions } from '@zfs-runner-hooks/vocabulary';

/** Stable error codes of this package; scripts and the hook may branch on them. */
export type ZfsCloneErrorCode =
  /** The workflow or runner configuration is invalid or not allowed. */
  | 'CONFIG_INVALID'
  /** The requested source (cache or VolumeSnapshot) does not exist or cannot be used. */
  | 'SOURCE_UNAVAILABLE'
  /** The clone PVC could not be provisioned. */
  | 'CLONE_FAILED'
  /** Taking a snapshot of a clone failed or timed out. */
  | 'SNAPSHOT_FAILED'
  /** The cache head could not be moved (not a lost race: that is a normal outcome). */
  | 'PROMOTE_FAILED'
  /** A cache or generation named by an operator does not exist or is inconsistent. */
  | 'CACHE_INVALID'
  /** Waiting for the cluster took longer than allowed. */
  | 'TIMEOUT';

export type ZfsCloneErrorOptions = HintedErrorOptions;

/**
 * The one error class of this package. `message` says what failed, on what and why, followed by
 * `hint`, what to change (joined by `withHint`).
 */
export class ZfsCloneError extends Error {
  override readonly name = 'ZfsCloneError';
  readonly code: ZfsCloneErrorCode;
  readonly hint: string | undefined;

  constructor(code: ZfsCloneErrorCode, message: string, options: ZfsCloneErrorOptions = {}) {
    super(withHint(message, options.hint), { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}
