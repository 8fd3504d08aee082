/**
 * The `meta/v1 Status` bodies the proxy answers with, worded as the API server words them.
 */
import { STATUS_CODES } from 'node:http';

const REASONS: Record<number, { reason: string; message: string }> = {
  410: { reason: 'Expired', message: 'too old resource version' },
  429: { reason: 'TooManyRequests', message: 'Too many requests, please try again later.' },
  500: { reason: 'InternalError', message: 'Internal error occurred: the server could not complete the request' },
  503: { reason: 'ServiceUnavailable', message: 'the server is currently unable to handle the request' },
  504: { reason: 'Timeout', message: 'the server was unable to return a response in the time allotted, but may still be processing the request' },
};

/** A failure `Status` for `code`; `retryAfterSeconds` goes into its details like the API server puts it. */
export function statusBody(code: number, options: { readonly message?: string; readonly retryAfterSeconds?: number } = {}): Record<string, unknown> {
  const known = REASONS[code];
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: options.message ?? known?.message ?? STATUS_CODES[code] ?? `HTTP ${code}`,
    reason: known?.reason ?? '',
    ...(options.retryAfterSeconds !== undefined ? { details: { retryAfterSeconds: options.retryAfterSeconds } } : {}),
    code,
  };
}

/** The `ERROR` watch event the API server sends when a watch starts from a version it no longer has. */
export function expiredWatchEvent(resourceVersion: string): string {
  const object = statusBody(410, { message: `too old resource version: ${resourceVersion}` });
  return `${JSON.stringify({ type: 'ERROR', object })}\n`;
}
