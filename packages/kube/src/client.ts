import type { Writable } from 'node:stream';
import type { RequestContext } from './api-error.js';
import type { KubeConnectionConfig } from './config/connection.js';
import { isNotFound } from './errors.js';
import { execInPod } from './exec/exec.js';
import { encodeQuery, listQuery, rbacVerb, resourceName, resourcePath } from './paths.js';
import { R } from './resources.js';
import { connectionError, Transport, type TransportRequest } from './transport.js';
import type { KubeClient, KubeList, ListOptions, LogOptions, PatchType, Query, ResourceRef, WatchHandler, WatchOptions } from './types.js';
import { consumeWatch } from './watch.js';

/** Client settings beyond the connection. */
export interface KubeClientOptions {
  /** Idle timeout for ordinary (non-streaming) requests. @default 60000 */
  readonly requestTimeoutMs?: number;
}

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

function contextOf(verb: string, ref: ResourceRef): RequestContext {
  return { verb, group: ref.type.group, resource: resourceName(ref), namespace: ref.namespace, name: ref.name };
}

function nameFromBody(body: unknown): string | undefined {
  const name = (body as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === 'string' ? name : undefined;
}

class Client implements KubeClient {
  readonly defaultNamespace: string;
  private readonly transport: Transport;
  private readonly timeoutMs: number;

  constructor(config: KubeConnectionConfig, options: KubeClientOptions) {
    this.transport = new Transport(config);
    this.defaultNamespace = config.namespace;
    this.timeoutMs = options.requestTimeoutMs ?? 60_000;
  }

  get stats() {
    return this.transport.stats;
  }

  /** `kind` is the verb for stats and RBAC messages when it differs from the method (`WATCH`). */
  private request(method: string, ref: ResourceRef, query?: Query, extra: Partial<TransportRequest> & { kind?: string } = {}): TransportRequest {
    const { kind = method, ...rest } = extra;
    return {
      method,
      path: resourcePath(ref) + encodeQuery(query),
      ctx: contextOf(rbacVerb(kind, ref), ref),
      statsKey: `${kind} ${resourceName(ref)}`,
      timeoutMs: this.timeoutMs,
      ...rest,
    };
  }

  private async json<T>(req: TransportRequest, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers = payload === undefined ? req.headers : { ...req.headers, 'Content-Type': contentType };
    const raw = await this.transport.send({ ...req, ...(headers ? { headers } : {}), ...(payload !== undefined ? { body: payload } : {}) });
    try {
      return JSON.parse(raw.toString('utf8')) as T;
    } catch (err) {
      throw connectionError(this.transport.config.server, new Error(`${req.method} ${req.ctx.resource} returned a body that is not JSON`, { cause: err }));
    }
  }

  get<T>(ref: ResourceRef, query?: Query): Promise<T> {
    return this.json<T>(this.request('GET', ref, query));
  }

  async find<T>(ref: ResourceRef, query?: Query): Promise<T | undefined> {
    try {
      return await this.get<T>(ref, query);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  list<T>(ref: ResourceRef, options?: ListOptions): Promise<KubeList<T>> {
    return this.json<KubeList<T>>(this.request('GET', { ...ref, name: undefined }, listQuery(options)));
  }

  create<T>(ref: ResourceRef, body: T, query?: Query): Promise<T> {
    // A subresource (e.g. serviceaccounts/<name>/token) is created at its own path.
    const target = ref.subresource ? ref : { ...ref, name: undefined };
    return this.json<T>(this.request('POST', target, query), body);
  }

  replace<T>(ref: ResourceRef, body: T, query?: Query): Promise<T> {
    const name = ref.name ?? nameFromBody(body);
    if (name === undefined) throw new TypeError(`replace of ${ref.type.plural} needs a name (ref.name or body.metadata.name)`);
    return this.json<T>(this.request('PUT', { ...ref, name }, query), body);
  }

  patch<T>(ref: ResourceRef, body: unknown, type: PatchType = 'merge', query?: Query): Promise<T> {
    if (type === 'apply' && !query?.fieldManager) {
      throw new TypeError(`server-side apply of ${ref.type.plural} needs query.fieldManager`);
    }
    return this.json<T>(this.request('PATCH', ref, query), body, PATCH_CONTENT_TYPES[type]);
  }

  async delete(ref: ResourceRef, query?: Query, body?: unknown): Promise<boolean> {
    try {
      await this.json<unknown>(this.request('DELETE', ref, query), body);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async watch<T>(ref: ResourceRef, handler: WatchHandler<T>, options: WatchOptions = {}): Promise<T | undefined> {
    if (options.signal?.aborted) return undefined;
    const query: Query = {
      ...listQuery(options),
      watch: true,
      timeoutSeconds: options.timeoutSeconds,
      allowWatchBookmarks: options.allowWatchBookmarks,
    };
    const req = this.request('GET', { ...ref, name: undefined }, query, { kind: 'WATCH', timeoutMs: 0, signal: options.signal });
    let res;
    try {
      res = await this.transport.open(req);
    } catch (err) {
      if (options.signal?.aborted) return undefined;
      throw err;
    }
    return consumeWatch<T>(res, handler, req.ctx, options.signal);
  }

  exec(options: Parameters<KubeClient['exec']>[0]) {
    return execInPod(this.transport, options);
  }

  async logs(options: LogOptions, out?: Writable): Promise<string> {
    const ref: ResourceRef = { type: R.pods, namespace: options.namespace, name: options.pod, subresource: 'log' };
    const query: Query = { container: options.container, follow: options.follow || undefined, tailLines: options.tailLines };
    const req = this.request('GET', ref, query, {
      headers: { Accept: '*/*' },
      timeoutMs: options.follow ? 0 : this.timeoutMs,
      signal: options.signal,
    });
    const res = await this.transport.open(req);
    if (!out) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    }
    const { pipeline } = await import(/* webpackMode: "eager" */ 'node:stream/promises');
    try {
      await pipeline(res, out, { end: false });
    } catch (err) {
      if (!options.signal?.aborted) throw connectionError(this.transport.config.server, err);
    }
    return '';
  }

  close(): void {
    this.transport.close();
  }
}

/** Creates a client for one API server; it opens no connection until the first request. */
export function createKubeClient(config: KubeConnectionConfig, options: KubeClientOptions = {}): KubeClient {
  return new Client(config, options);
}
