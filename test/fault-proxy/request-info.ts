/**
 * What a request to the Kubernetes API asks for, read from its method, path and query the way
 * the API server's request-info resolver reads them: verb, resource, namespace, name.
 */

/** Kubernetes verbs, plus `exec` for an upgrade to `pods/exec` (or `attach`, `portforward`). */
export const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'exec'] as const;
export type Verb = (typeof VERBS)[number];

/** A response that streams: a watch, a followed log, an exec websocket. */
export type StreamKind = 'watch' | 'follow' | 'exec';

/** One request, classified. */
export interface RequestInfo {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** Query parameters (the last value of a repeated one, `command` aside). */
  readonly query: Readonly<Record<string, string>>;
  /** Every `command` parameter of an exec, in order. */
  readonly command: readonly string[];
  /** `''` for the core group; undefined for a path that is no resource (`/version`, `/apis`). */
  readonly group: string | undefined;
  readonly verb: Verb | undefined;
  /** `plural` or `plural/subresource` (`pods/log`, `pods/exec`). */
  readonly resource: string | undefined;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly stream: StreamKind | undefined;
  /** The request asks for a WebSocket (or SPDY) upgrade. */
  readonly upgrade: boolean;
  /** `verb resource`, with ` (follow)` for a followed log: `watch pods`, `get pods/log (follow)`. */
  readonly type: string;
}

const UPGRADE_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);

function isTrue(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

/** Splits `/api/v1/…` or `/apis/<group>/<version>/…` into the group and the segments after the version. */
function splitApiPath(path: string): { group: string; rest: string[] } | undefined {
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  if (parts[0] === 'api' && parts.length >= 2) return { group: '', rest: parts.slice(2) };
  if (parts[0] === 'apis' && parts.length >= 3) return { group: parts[1] ?? '', rest: parts.slice(3) };
  return undefined;
}

function verbOf(method: string, named: boolean, watch: boolean, upgrade: boolean): Verb | undefined {
  if (upgrade) return 'exec';
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch) return 'watch';
      return named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

/** Classifies a request from its method, its URL (path and query) and whether it asks for an upgrade. */
export function classifyRequest(method: string, url: string, upgrade = false): RequestInfo {
  const parsed = new URL(url, 'http://request.invalid');
  const query: Record<string, string> = {};
  for (const [key, value] of parsed.searchParams) query[key] = value;
  const command = parsed.searchParams.getAll('command');
  const upperMethod = method.toUpperCase();
  const base = { method: upperMethod, path: parsed.pathname, query, command, upgrade };

  const api = splitApiPath(parsed.pathname);
  if (!api || api.rest.length === 0) {
    return {
      ...base,
      group: undefined,
      verb: undefined,
      resource: undefined,
      namespace: undefined,
      name: undefined,
      stream: undefined,
      type: `${upperMethod} ${parsed.pathname}`,
    };
  }
  let rest = api.rest;
  // The old watch prefix: /api/v1/watch/namespaces/<ns>/pods
  let watch = isTrue(query['watch']);
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // namespaces/<ns>/<resource>… is namespaced; namespaces/<name>[/status|/finalize] is the namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource] = rest;
  const resource = subresource ? `${plural ?? ''}/${subresource}` : plural;
  const isUpgrade = upgrade && subresource !== undefined && UPGRADE_SUBRESOURCES.has(subresource);
  const verb = verbOf(upperMethod, name !== undefined, watch, isUpgrade);
  const follow = subresource === 'log' && isTrue(query['follow']);
  const stream: StreamKind | undefined = isUpgrade ? 'exec' : verb === 'watch' ? 'watch' : follow ? 'follow' : undefined;
  const type = `${verb ?? upperMethod} ${resource ?? ''}${follow ? ' (follow)' : ''}`;
  return { ...base, group: api.group, verb, resource, namespace, name, stream, type };
}
