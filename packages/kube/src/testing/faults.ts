import { toApiError, type RequestContext } from '../api-error.js';
import type { KubeApiError } from '../errors.js';

/** An API error answer to inject, converted like the real client converts a `meta/v1 Status`. */
export interface ApiFault {
  readonly status: number;
  /** `Status.reason`; default: the usual one of `status` (`NotFound`, `AlreadyExists`, `Expired`, …). */
  readonly reason?: string;
  /** `Status.message`; default: a message like the API server's. */
  readonly message?: string;
  readonly retryAfterSeconds?: number;
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'AlreadyExists',
  410: 'Expired',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** An API error answer, e.g. `apiError(503)`, `apiError(409, { reason: 'Conflict' })`, `apiError(410)`. */
export function apiError(status: number, details: Omit<ApiFault, 'status'> = {}): ApiFault {
  return { status, ...details };
}

/** Whether `value` is an `ApiFault` (and not an Error to throw as it is). */
export function isApiFault(value: unknown): value is ApiFault {
  return typeof value === 'object' && value !== null && !(value instanceof Error) && typeof (value as { status?: unknown }).status === 'number';
}

/** The `KubeApiError` the real client would throw for `fault` answered to the request `ctx`. */
export function faultError(fault: ApiFault, ctx: RequestContext): KubeApiError {
  const reason = fault.reason ?? REASONS[fault.status];
  const what = `${ctx.resource}${ctx.name !== undefined ? ` "${ctx.name}"` : ''}`;
  const message =
    fault.message ??
    (fault.status === 404
      ? `${what} not found`
      : fault.status === 409 && reason === 'AlreadyExists'
        ? `${what} already exists`
        : fault.status === 409
          ? `Operation cannot be fulfilled on ${what}: the object has been modified; please apply your changes to the latest version and try again`
          : fault.status === 410
            ? 'too old resource version'
            : `the server answered ${fault.status}${reason ? ` ${reason}` : ''}`);
  return toApiError(fault.status, { kind: 'Status', status: 'Failure', code: fault.status, reason, message }, ctx, fault.retryAfterSeconds);
}
