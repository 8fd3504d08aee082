import type { Writable } from 'node:stream';
import type { RequestContext } from './api-error.js';
import type { KubeConnectionConfig } from './config/connection.js';
import { KubeApiError, KubeError, isAlreadyExists, isConflict, isNotFound } from './errors.js';
import { execInPod } from './exec/exec.js';
import { describeTarget } from './exec/status.js';
import { adoptionMismatch, metadataOf, sameContent } from './ownership.js';
import { encodeQuery, listQuery, rbacVerb, resourceName, resourcePath } from './paths.js';
import { R } from './resources.js';
import type { RetryOptions } from './retry.js';
import { connectionError, Transport, type TransportRequest } from './transport.js';
import type { CreateOptions, KubeClient, KubeList, ListOptions, LogOptions, PatchType, Query, ResourceRef, WatchHandler, WatchOptions } from './types.js';
import { consumeWatch } from './watch.js';

/** Client settings beyond the connection. */
export interface KubeClientOptions {
  /** Idle timeout for ordinary (non-streaming) requests. @default 60000 */
  readonly requestTimeoutMs?: number;
  /** The retry policy of every request (ADR 0017). */
  readonly retry?: RetryOptions;
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

const seconds = (ms: number): string => `${Number.isInteger(ms / 1000) ? ms / 1000 : (ms / 1000).toFixed(1)} s`;

class Client implements KubeClient {
  readonly defaultNamespace: string;
  private readonly transport: Transport;
  private readonly timeoutMs: number;

  constructor(config: KubeConnectionConfig, options: KubeClientOptions) {
    this.transport = new Transport(config, options.retry);
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
    return this.json<KubeList<T>>(this.request('GET', { ...ref, name: undefined }, listQuery(options), { signal: options?.signal }));
  }

  /**
   * A create of a named object is sent again like any idempotent request; a 409 AlreadyExists
   * to such a retry is the object an earlier attempt made when it is provably this request's
   * (same labels and owners), else a clear error. A `generateName` create, or a subresource's,
   * is only sent again after an answer the server gives before doing anything (429, 503).
   */
  async create<T>(ref: ResourceRef, body: T, query?: Query, options: CreateOptions = {}): Promise<T> {
    // A subresource (e.g. serviceaccounts/<name>/token) is created at its own path.
    if (ref.subresource) return this.json<T>(this.request('POST', ref, query, { retry: 'unprocessed' }), body);
    const target = { ...ref, name: undefined };
    const name = metadataOf(body).name;
    if (name === undefined) return this.json<T>(this.request('POST', target, query, { retry: 'unprocessed' }), body);
    let attempts = 0;
    try {
      return await this.json<T>(this.request('POST', target, query, { retry: 'idempotent', onAttempt: (n) => (attempts = n) }), body);
    } catch (err) {
      // On the first attempt a 409 is the caller's answer (e.g. a create-if-absent lost a race).
      if (!isAlreadyExists(err) || attempts < 2) throw err;
      if (options.uniqueName) {
        // The name is this request's alone: the object is the one an earlier attempt made.
        this.transport.stats.recover('ADOPT', `POST ${resourceName(ref)}`);
        return body;
      }
      return this.adopt({ ...ref, name }, body, attempts, err);
    }
  }

  /** After a retried create answered 409: the existing object when it is this request's, else an error. */
  private async adopt<T>(ref: ResourceRef & { name: string }, body: T, attempts: number, conflict: KubeApiError): Promise<T> {
    const existing = await this.find<T>(ref);
    const mismatch = existing === undefined ? 'it was deleted again before it could be read' : adoptionMismatch(body, existing);
    if (mismatch === undefined && existing !== undefined) {
      this.transport.stats.recover('ADOPT', `POST ${resourceName(ref)}`);
      return existing;
    }
    const where = ref.namespace ? ` in namespace ${JSON.stringify(ref.namespace)}` : '';
    throw new KubeApiError(
      'ALREADY_EXISTS',
      `${ref.type.plural} ${JSON.stringify(ref.name)}${where} already exists, and this create was sent ${attempts} times (an earlier attempt's answer was lost), so whether this request made it cannot be told: ${mismatch} (HTTP 409)`,
      {
        status: 409,
        reason: conflict.reason,
        serverMessage: conflict.serverMessage,
        verb: 'create',
        resource: conflict.resource,
        group: ref.type.group,
        namespace: ref.namespace,
        name: ref.name,
        causes: conflict.causes,
      },
      { cause: conflict, hint: 'Delete the object if it is a leftover of an earlier run, then try again' },
    );
  }

  /**
   * A replace with `metadata.resourceVersion` is a compare-and-swap: when a retry of it answers
   * 409 Conflict because an earlier attempt's write landed, the object then holds exactly the
   * body, and that object is returned.
   */
  async replace<T>(ref: ResourceRef, body: T, query?: Query): Promise<T> {
    const meta = metadataOf(body);
    const name = ref.name ?? meta.name;
    if (name === undefined) throw new TypeError(`replace of ${ref.type.plural} needs a name (ref.name or body.metadata.name)`);
    let attempts = 0;
    try {
      return await this.json<T>(this.request('PUT', { ...ref, name }, query, { onAttempt: (n) => (attempts = n) }), body);
    } catch (err) {
      if (!isConflict(err) || attempts < 2 || meta.resourceVersion === undefined) throw err;
      const current = await this.find<T>({ ...ref, name });
      if (current === undefined || !sameContent(body, current)) throw err;
      this.transport.stats.recover('ADOPT', `PUT ${resourceName(ref)}`);
      return current;
    }
  }

  patch<T>(ref: ResourceRef, body: unknown, type: PatchType = 'merge', query?: Query): Promise<T> {
    if (type === 'apply' && !query?.fieldManager) {
      throw new TypeError(`server-side apply of ${ref.type.plural} needs query.fieldManager`);
    }
    // A JSON patch may append to a list or remove by index: sending it twice is not the same.
    const retry = type === 'json' ? 'unprocessed' : 'idempotent';
    return this.json<T>(this.request('PATCH', ref, query, { retry }), body, PATCH_CONTENT_TYPES[type]);
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
    const req = this.request('GET', { ...ref, name: undefined }, query, { kind: 'WATCH', timeoutMs: options.idleTimeoutMs ?? 0, signal: options.signal });
    let res: Awaited<ReturnType<Transport['open']>>;
    try {
      res = await this.transport.open(req);
    } catch (err) {
      if (options.signal?.aborted) return undefined;
      throw err;
    }
    options.onOpen?.();
    return consumeWatch<T>(res, handler, req.ctx, options.signal);
  }

  exec(options: Parameters<KubeClient['exec']>[0]) {
    return execInPod(this.transport, options);
  }

  async logs(options: LogOptions, out?: Writable): Promise<string> {
    const ref: ResourceRef = { type: R.pods, namespace: options.namespace, name: options.pod, subresource: 'log' };
    const query: Query = {
      container: options.container,
      follow: options.follow || undefined,
      tailLines: options.tailLines,
      sinceTime: options.sinceTime,
      sinceSeconds: options.sinceSeconds,
      timestamps: options.timestamps || undefined,
    };
    const req = this.request('GET', ref, query, {
      headers: { Accept: '*/*' },
      timeoutMs: options.follow ? 0 : this.timeoutMs,
      signal: options.signal,
    });
    const res = await this.transport.open(req);
    // Following: no byte for idleTimeoutMs ends the stream with LOG_IDLE (a silently dead connection).
    const idleMs = options.follow ? options.idleTimeoutMs : undefined;
    let idle: KubeError | undefined;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (idleMs === undefined) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        const where = options.container ? describeTarget({ ...options, container: options.container, command: [] }) : `pod ${options.namespace}/${options.pod}`;
        idle = new KubeError('LOG_IDLE', `the log of ${where} sent nothing for ${seconds(idleMs)}; stopped following it`, {
          hint: 'The connection to the API server or the node may be lost; the log can be read again from where it stopped (sinceTime)',
        });
        res.destroy(idle);
      }, idleMs);
    };
    arm();
    try {
      if (!out) {
        const chunks: Buffer[] = [];
        for await (const chunk of res) {
          arm();
          chunks.push(chunk as Buffer);
        }
        return Buffer.concat(chunks).toString('utf8');
      }
      const { pipeline } = await import(/* webpackMode: "eager" */ 'node:stream/promises');
      try {
        await pipeline(
          res,
          async function* (source: AsyncIterable<Buffer>) {
            for await (const chunk of source) {
              arm();
              yield chunk;
            }
          },
          out,
          { end: false },
        );
      } catch (err) {
        if (idle) throw idle;
        if (!options.signal?.aborted) throw connectionError(this.transport.config.server, err);
      }
      return '';
    } catch (err) {
      throw idle ?? err;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.transport.close();
  }
}

/** Creates a client for one API server; it opens no connection until the first request. */
export function createKubeClient(config: KubeConnectionConfig, options: KubeClientOptions = {}): KubeClient {
  return new Client(config, options);
}
