import { KubeApiError, type KubeErrorCode, type StatusCause } from './errors.js';

/** What request failed, for the error message. */
export interface RequestContext {
  /** RBAC verb (`get`, `create`, `watch`, …). */
  readonly verb: string;
  readonly group: string;
  /** `plural` or `plural/subresource`. */
  readonly resource: string;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
}

/** The fields of a `meta/v1 Status` this package reads. */
export interface StatusBody {
  readonly kind?: unknown;
  readonly status?: unknown;
  readonly message?: unknown;
  readonly reason?: unknown;
  readonly code?: unknown;
  readonly details?: { readonly causes?: unknown; readonly kind?: unknown; readonly name?: unknown };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Reads a response body as a Status, or `undefined` when it is not one (HTML, plain text, …). */
export function parseStatus(body: string | Buffer | undefined): StatusBody | undefined {
  if (body === undefined || body.length === 0) return undefined;
  try {
    const value: unknown = JSON.parse(body.toString());
    if (value && typeof value === 'object' && (value as { kind?: unknown }).kind === 'Status') return value as StatusBody;
  } catch {
    // not JSON: reported without the body
  }
  return undefined;
}

function causesOf(status: StatusBody | undefined): StatusCause[] {
  const raw = status?.details?.causes;
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((c): c is Record<string, unknown> => !!c && typeof c === 'object')
    .map((c) => ({ reason: str(c.reason), message: str(c.message), field: str(c.field) }));
}

function codeOf(httpStatus: number, reason: string | undefined): KubeErrorCode {
  if (reason === 'AlreadyExists') return 'ALREADY_EXISTS';
  if (reason === 'Conflict') return 'CONFLICT';
  switch (httpStatus) {
    case 400:
      return 'BAD_REQUEST';
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return reason === undefined ? 'CONFLICT' : 'API_ERROR';
    case 410:
      return 'GONE';
    case 422:
      return 'INVALID';
    case 429:
      return 'TOO_MANY_REQUESTS';
    default:
      return httpStatus >= 500 ? 'SERVER_ERROR' : 'API_ERROR';
  }
}

const where = (ctx: RequestContext): string => (ctx.namespace ? `in namespace ${JSON.stringify(ctx.namespace)}` : 'cluster-wide');

const WRITES_BY_NAME = new Set(['update', 'patch', 'delete']);

function rbacHint(ctx: RequestContext): string {
  const verbs = ctx.resource === 'pods/exec' ? '["create", "get"]' : `[${JSON.stringify(ctx.verb)}]`;
  const role = ctx.namespace ? 'Role' : 'ClusterRole';
  const rule = `The hook's ServiceAccount needs a ${role} rule: apiGroups [${JSON.stringify(ctx.group)}], resources [${JSON.stringify(ctx.resource)}], verbs ${verbs}`;
  // A write by name may be refused by a rule that lists other names (a cache head the operator
  // has not added yet): say which name the rule must cover.
  if (ctx.name && WRITES_BY_NAME.has(ctx.verb)) {
    const name = JSON.stringify(ctx.name);
    return `${rule} that covers ${ctx.resource} ${name} (when the rule lists resourceNames, add ${name} to them)`;
  }
  return rule;
}

function describe(
  httpStatus: number,
  code: KubeErrorCode,
  msg: string | undefined,
  ctx: RequestContext,
  causes: StatusCause[],
): { message: string; hint?: string } {
  const tag = `(HTTP ${httpStatus})`;
  const target = ctx.name ? `${ctx.resource} ${JSON.stringify(ctx.name)}` : ctx.resource;
  switch (code) {
    case 'FORBIDDEN':
      return {
        message: `forbidden: cannot ${ctx.verb} ${ctx.resource} ${where(ctx)} ${tag}`,
        hint: rbacHint(ctx),
      };
    case 'UNAUTHORIZED':
      return {
        message: `unauthorized: the API server rejected the credentials for ${ctx.verb} ${ctx.resource} ${tag}`,
        hint: 'Check that the token or client certificate is valid and not expired',
      };
    case 'NOT_FOUND': {
      const base = msg ?? `${target} not found`;
      return { message: ctx.namespace && !base.includes(ctx.namespace) ? `${base} in namespace ${JSON.stringify(ctx.namespace)} ${tag}` : `${base} ${tag}` };
    }
    case 'ALREADY_EXISTS':
      return { message: `${msg ?? `${target} already exists`} ${ctx.namespace ? where(ctx) + ' ' : ''}${tag}` };
    case 'CONFLICT':
      return {
        message: `${msg ?? `conflict on ${target}`} ${tag}`,
        hint: 'Read the object again and retry with its current resourceVersion',
      };
    case 'GONE':
      return {
        message: `${msg ?? 'resource version too old'} ${tag}`,
        hint: 'List again and watch from the new resourceVersion',
      };
    case 'INVALID': {
      const head = msg?.split(':')[0] ?? `${target} is invalid`;
      const fields = causes.map((c) => (c.field ? `${c.field}: ${c.message ?? c.reason ?? 'invalid'}` : (c.message ?? c.reason ?? 'invalid')));
      return { message: fields.length ? `${head} ${tag}: ${fields.join('; ')}` : `${msg ?? head} ${tag}` };
    }
    default:
      return {
        message: msg
          ? `${ctx.verb} ${target} failed: ${msg} ${tag}`
          : `${ctx.verb} ${target} failed with HTTP ${httpStatus} (the response was not a Kubernetes Status)`,
      };
  }
}

/**
 * Converts an error response (or a watch `ERROR` event's Status) into a `KubeApiError` whose
 * message names the verb, resource and namespace. Bodies that are not a Status are never shown.
 */
export function toApiError(httpStatus: number, status: StatusBody | undefined, ctx: RequestContext, retryAfterSeconds?: number): KubeApiError {
  const statusCode = typeof status?.code === 'number' && status.code > 0 ? status.code : httpStatus;
  const reason = str(status?.reason);
  const serverMessage = str(status?.message);
  const causes = causesOf(status);
  const code = codeOf(statusCode, reason);
  const { message, hint } = describe(statusCode, code, serverMessage, ctx, causes);
  return new KubeApiError(
    code,
    message,
    {
      status: statusCode,
      reason,
      serverMessage,
      verb: ctx.verb,
      resource: ctx.resource,
      group: ctx.group,
      namespace: ctx.namespace,
      name: ctx.name,
      causes,
      retryAfterSeconds,
    },
    hint ? { hint } : {},
  );
}
