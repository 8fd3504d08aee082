import type { ListOptions, Query, ResourceRef } from './types.js';

const DNS_SAFE = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

function segment(kind: string, value: string): string {
  // Names are DNS-1123 (or close to it); anything else is rejected early instead of being sent
  // as an escaped path that addresses something else.
  if (!DNS_SAFE.test(value)) {
    throw new TypeError(`invalid ${kind} ${JSON.stringify(value)} in resource path`);
  }
  return value;
}

/**
 * The REST path of `ref`: `/api/v1/namespaces/<ns>/pods/<name>/<sub>` for the core group,
 * `/apis/<group>/<version>/…` otherwise. Namespaced types require `ref.namespace`, except for
 * a collection read across all namespaces (`namespace` omitted, no `name`).
 */
export function resourcePath(ref: ResourceRef): string {
  const { type } = ref;
  let path = type.group === '' ? `/api/${segment('version', type.version)}` : `/apis/${segment('group', type.group)}/${segment('version', type.version)}`;
  if (type.namespaced) {
    if (ref.namespace !== undefined) {
      path += `/namespaces/${segment('namespace', ref.namespace)}`;
    } else if (ref.name !== undefined) {
      throw new TypeError(`${type.plural} ${JSON.stringify(ref.name)}: namespaced resource needs a namespace`);
    }
  } else if (ref.namespace !== undefined) {
    throw new TypeError(`${type.plural} is cluster-scoped; do not pass a namespace`);
  }
  path += `/${segment('resource', type.plural)}`;
  if (ref.name !== undefined) path += `/${segment('name', ref.name)}`;
  if (ref.subresource !== undefined) {
    if (ref.name === undefined) throw new TypeError(`subresource ${ref.subresource} needs a name`);
    path += `/${segment('subresource', ref.subresource)}`;
  }
  return path;
}

/** A query string (with the leading `?`, or `''`); `undefined` values are left out. */
export function encodeQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Query parameters of a list or watch request. */
export function listQuery(options: ListOptions | undefined): Query {
  return {
    labelSelector: options?.labelSelector,
    fieldSelector: options?.fieldSelector,
    limit: options?.limit,
    resourceVersion: options?.resourceVersion,
  };
}

/** `plural` or `plural/subresource`, as RBAC rules and stats name it. */
export function resourceName(ref: ResourceRef): string {
  return ref.subresource ? `${ref.type.plural}/${ref.subresource}` : ref.type.plural;
}

/** The RBAC verb the API server checks for an HTTP method on `ref`. */
export function rbacVerb(method: string, ref: ResourceRef): string {
  switch (method) {
    case 'GET':
      return ref.name === undefined ? 'list' : 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return ref.name === undefined ? 'deletecollection' : 'delete';
    case 'WATCH':
      return 'watch';
    case 'EXEC':
      return 'create';
    default:
      return method.toLowerCase();
  }
}
