import { withHint, type HintedErrorOptions } from '@zfs-runner-hooks/vocabulary';

/** Stable codes of the errors this package throws. */
export type KubeErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_UNSUPPORTED_AUTH'
  | 'CONFIG_UNSUPPORTED'
  | 'CONNECTION_FAILED'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'CONFLICT'
  | 'GONE'
  | 'INVALID'
  | 'TOO_MANY_REQUESTS'
  | 'SERVER_ERROR'
  | 'API_ERROR'
  | 'WATCH_DECODE'
  | 'WATCH_CUT'
  | 'WATCH_TIMEOUT'
  | 'WATCH_ABORTED'
  | 'LOG_IDLE'
  | 'EXEC_FAILED'
  | 'EXEC_STREAM_LOST'
  | 'EXEC_ABORTED'
  | 'EXEC_TIMEOUT'
  | 'EXEC_STDIN_EOF_UNSUPPORTED';

type KubeErrorOptions = HintedErrorOptions;

/**
 * Base class of every error this package throws: a stable `code`, the `cause`, and a `hint`
 * (also in `message`, joined by `withHint`).
 */
export class KubeError extends Error {
  override readonly name: string = 'KubeError';
  readonly code: KubeErrorCode;
  readonly hint: string | undefined;

  constructor(code: KubeErrorCode, message: string, options: KubeErrorOptions = {}) {
    super(withHint(message, options.hint), { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}

/** The kubeconfig or in-cluster files are missing, unreadable or incomplete. */
export class KubeConfigError extends KubeError {
  override readonly name = 'KubeConfigError';
}

/** One field-level cause of a 422 Invalid (from `Status.details.causes`). */
export interface StatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

/** What a Kubernetes API error is about. */
export interface KubeApiErrorDetails {
  /** HTTP status code. */
  readonly status: number;
  /** `Status.reason`, e.g. `NotFound`, `AlreadyExists`, `Conflict`, `Forbidden`. */
  readonly reason: string | undefined;
  /** `Status.message` as the API server wrote it. */
  readonly serverMessage: string | undefined;
  /** RBAC verb of the request (`get`, `list`, `create`, `watch`, …). */
  readonly verb: string;
  /** Resource, with subresource when there is one (`pods/exec`). */
  readonly resource: string;
  readonly group: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly causes: readonly StatusCause[];
  /** The `Retry-After` header of a 429 or 503, in seconds. */
  readonly retryAfterSeconds?: number | undefined;
}

/** The API server answered with an error status. */
export class KubeApiError extends KubeError {
  override readonly name = 'KubeApiError';
  readonly status: number;
  readonly reason: string | undefined;
  readonly serverMessage: string | undefined;
  readonly verb: string;
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly causes: readonly StatusCause[];
  /** The `Retry-After` header of a 429 or 503, in seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: KubeErrorCode, message: string, details: KubeApiErrorDetails, options: KubeErrorOptions = {}) {
    super(code, message, options);
    this.status = details.status;
    this.reason = details.reason;
    this.serverMessage = details.serverMessage;
    this.verb = details.verb;
    this.resource = details.resource;
    this.namespace = details.namespace;
    this.causes = details.causes;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

/** The API server could not be reached (refused, reset, TLS failure, timeout). */
export class KubeConnectionError extends KubeError {
  override readonly name = 'KubeConnectionError';
  /** The API server URL that could not be reached. */
  readonly server: string;

  constructor(server: string, message: string, options: KubeErrorOptions = {}) {
    super('CONNECTION_FAILED', message, options);
    this.server = server;
  }
}

/** The remote command could not run (container or command not found, …), per the status channel. */
export class ExecError extends KubeError {
  override readonly name: string = 'ExecError';
}

/** The exec stream ended or went silent without an exit status: the command's result is unknown. */
export class ExecStreamError extends ExecError {
  override readonly name = 'ExecStreamError';
  constructor(message: string, options: KubeErrorOptions = {}) {
    super('EXEC_STREAM_LOST', message, options);
  }
}

/** The exec was stopped through its abort signal. */
export class ExecAbortedError extends ExecError {
  override readonly name = 'ExecAbortedError';
  constructor(message: string, options: KubeErrorOptions = {}) {
    super('EXEC_ABORTED', message, options);
  }
}

/** The exec did not finish within its `timeoutMs`; the stream was closed. */
export class ExecTimeoutError extends ExecError {
  override readonly name = 'ExecTimeoutError';
  constructor(message: string, options: KubeErrorOptions = {}) {
    super('EXEC_TIMEOUT', message, options);
  }
}

/** Whether `err` is an error from this package. */
export function isKubeError(err: unknown): err is KubeError {
  return err instanceof KubeError;
}

/** Whether `err` is an API error response. */
export function isKubeApiError(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError;
}

/** 404: the object (or namespace) does not exist. */
export function isNotFound(err: unknown): err is KubeApiError {
  return isKubeApiError(err) && err.status === 404;
}

/** 409 with reason `AlreadyExists`: create of an existing name. */
export function isAlreadyExists(err: unknown): err is KubeApiError {
  return isKubeApiError(err) && err.code === 'ALREADY_EXISTS';
}

/** 409 with reason `Conflict`: a stale `resourceVersion` (compare-and-swap lost). */
export function isConflict(err: unknown): err is KubeApiError {
  return isKubeApiError(err) && err.code === 'CONFLICT';
}

/** 410 Gone: a watch's `resourceVersion` is too old; list again and re-watch. */
export function isGone(err: unknown): err is KubeApiError {
  return isKubeApiError(err) && err.code === 'GONE';
}

/** 403: RBAC denied the request. */
export function isForbidden(err: unknown): err is KubeApiError {
  return isKubeApiError(err) && err.code === 'FORBIDDEN';
}

/** 422: the object failed validation (see `causes`). */
export function isInvalid(err: unknown): err is KubeApiError {
  return isKubeApiError(err) && err.code === 'INVALID';
}
