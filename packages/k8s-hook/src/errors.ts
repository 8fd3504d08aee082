import { withHint, type HintedErrorOptions } from '@zfs-runner-hooks/vocabulary';

/** Stable codes of the errors the hook reports. */
export type HookErrorCode =
  | 'INPUT_INVALID'
  | 'CONFIG_INVALID'
  | 'TEMPLATE_INVALID'
  | 'STATE_INVALID'
  | 'STATE_DIR_UNSAFE'
  | 'RESPONSE_FILE_UNSAFE'
  | 'WORKSPACE_UNSAFE'
  | 'UNSUPPORTED'
  | 'OPTION_REFUSED'
  | 'POD_FAILED'
  | 'POD_TIMEOUT'
  | 'COPY_FAILED'
  | 'EXEC_LOST'
  | 'STEP_FAILED'
  | 'CANCELLED'
  | 'CACHE_NODE_CONFLICT';

/** Options shared by every hook error: the project's `{ cause, hint }`. */
export type HookErrorOptions = HintedErrorOptions;

/**
 * The one error class the hook throws on purpose: a stable `code`, a message that says what
 * failed and why, an optional `hint` with what to do (joined to the message as its last sentence,
 * as the client's and the cache's errors do: `withHint`), and the original error as `cause`.
 */
export class HookError extends Error {
  override readonly name: string = 'HookError';
  readonly code: HookErrorCode;
  readonly hint: string | undefined;

  constructor(code: HookErrorCode, message: string, options: HookErrorOptions = {}) {
    super(withHint(message, options.hint), { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}

/**
 * A step ran and finished with a non-zero exit code. The hook exits with that code so the
 * runner's log shows the step's own status.
 */
export class StepFailedError extends HookError {
  override readonly name = 'StepFailedError';
  /** The step's exit code, 1..255. */
  readonly exitCode: number;

  constructor(exitCode: number, message: string) {
    super('STEP_FAILED', message);
    this.exitCode = exitCode;
  }
}

/** The hook was interrupted by SIGINT or SIGTERM. */
export class CancelledError extends HookError {
  override readonly name = 'CancelledError';
  readonly signal: NodeJS.Signals;

  constructor(signal: NodeJS.Signals) {
    super('CANCELLED', `The hook was cancelled by ${signal}`);
    this.signal = signal;
  }
}

/** Whether `err` is an error the hook raised on purpose. */
export function isHookError(err: unknown): err is HookError {
  return err instanceof HookError;
}

/** The `code` of an error from this package or from `@zfs-runner-hooks/kube`, if it has one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}

/**
 * A description of any thrown value, with its hint joined by `withHint` when the message does not
 * hold it yet (a `HookError`'s message leaves it out; the kube client's and the cache's hold it).
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const hint = 'hint' in err && typeof err.hint === 'string' && !err.message.includes(err.hint) ? err.hint : undefined;
  return withHint(err.message, hint);
}
