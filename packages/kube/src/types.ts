import type { Readable, Writable } from 'node:stream';

/** One Kubernetes resource kind, enough to build its REST paths. */
export interface ResourceType {
  /** API group; `''` for the core group. */
  readonly group: string;
  readonly version: string;
  /** Lower-case plural, e.g. `pods`, `volumesnapshots`. */
  readonly plural: string;
  /** Whether objects of this kind live in a namespace. */
  readonly namespaced: boolean;
}

/** Addresses one object or a collection of a resource type. */
export interface ResourceRef {
  readonly type: ResourceType;
  /** Required for namespaced types. */
  readonly namespace?: string;
  /** Omit to address the collection. */
  readonly name?: string;
  /** e.g. `status`, `log`, `exec`. */
  readonly subresource?: string;
}

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly resourceVersion?: string;
  /** Stops the request (a list rejects with an `AbortError`; a watch resolves). */
  readonly signal?: AbortSignal;
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

export interface KubeList<T> {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T> {
  readonly type: WatchEventType;
  readonly object: T;
}

export interface WatchOptions extends ListOptions {
  /** Server-side timeout for the watch request, seconds. */
  readonly timeoutSeconds?: number;
  readonly allowWatchBookmarks?: boolean;
  /** Called once the server accepted the watch (its response headers arrived). */
  readonly onOpen?: () => void;
  /**
   * Closes the connection when no byte arrives for this long: before the response, the request is
   * sent again (retry policy); after it, the watch rejects with code `WATCH_CUT`. Omit for none.
   */
  readonly idleTimeoutMs?: number;
}

/**
 * Callback for each watch event; return `true` to stop watching (the `watch` promise then
 * resolves with that event's object).
 */
export type WatchHandler<T> = (event: WatchEvent<T>) => boolean | void | Promise<boolean | void>;

/** How a create is retried. */
export interface CreateOptions {
  /**
   * The object's name is this request's alone (it carries a random part): a 409 AlreadyExists to
   * a retry is then the object an earlier attempt made, and `create` resolves with the body as
   * sent, without reading the object (the caller may have no right to: the hook cannot read
   * Secrets). Without it a retried create reads the object and compares labels and owners.
   */
  readonly uniqueName?: boolean;
}

export interface ExecOptions {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly command: readonly string[];
  /** Data sent on the stdin channel, then stdin is closed. Omit for no stdin. */
  readonly stdin?: Readable | Buffer | string;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  /** Aborting closes the stream; the exec promise then rejects with an ExecAbortedError. */
  readonly signal?: AbortSignal;
  /** Websocket ping interval to keep long silent commands alive; default 30 s, 0 disables. */
  readonly keepaliveMs?: number;
  /**
   * Whether the command needs end-of-file on stdin (e.g. `tar x`, `cat`). Only the
   * `v5.channel.k8s.io` protocol can close stdin while keeping the output open; when the server
   * only speaks `v4.channel.k8s.io`, `exec` then rejects with code `EXEC_STDIN_EOF_UNSUPPORTED`
   * instead of hanging. Set `false` for commands that read a known amount of input
   * (e.g. `head -c <n> | tar x`); stdin then stays open until the command exits.
   * @default true
   */
  readonly requireStdinEof?: boolean;
  /**
   * A deadline for the whole exec, start-up included: when it passes the stream is closed and
   * `exec` rejects with an `ExecTimeoutError` (code `EXEC_TIMEOUT`). The remote command may still
   * be running then. Omit for no deadline.
   */
  readonly timeoutMs?: number;
  /**
   * Whether a refused upgrade (429, 5xx, a connection never made) is sent again under the
   * client's retry policy. `false`: it rejects at once, for a caller that polls on its own (e.g.
   * for a container that is about to start).
   * @default true
   */
  readonly retryUpgrade?: boolean;
}

export interface ExecResult {
  /** The remote process's exit code, read from the status channel. */
  readonly exitCode: number;
  /** The negotiated stream protocol, `v5.channel.k8s.io` or `v4.channel.k8s.io`. */
  readonly protocol?: string;
}

export interface LogOptions {
  readonly namespace: string;
  readonly pod: string;
  readonly container?: string;
  readonly follow?: boolean;
  readonly tailLines?: number;
  /** Only lines written at or after this time (RFC 3339), e.g. to resume a follow. */
  readonly sinceTime?: string;
  readonly sinceSeconds?: number;
  /** Prefix each line with its RFC 3339 time (what `sinceTime` of a resumed follow takes). */
  readonly timestamps?: boolean;
  /**
   * With `follow`: when no byte arrives for this long, the stream is closed and `logs` rejects
   * with code `LOG_IDLE`. Omit for none.
   */
  readonly idleTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Counters that benchmarks and the hook's debug log read. */
export interface RequestStats {
  /**
   * HTTP requests by `VERB resource` (e.g. `POST pods`, `WATCH pods`, `EXEC pods/exec`); each
   * attempt of a retried request counts.
   */
  readonly byKind: ReadonlyMap<string, number>;
  readonly total: number;
  /** Requests sent again by the retry policy. Optional: fakes need not count. */
  readonly retries?: number;
  /** Watches opened again by `watchUntil` after a stream ended, broke or went idle. */
  readonly rewatches?: number;
  /** Lists read again by `watchUntil` after `410 Gone`. */
  readonly relists?: number;
  /**
   * Recoveries by kind: `RETRY GET pods`, `REWATCH pods`, `RELIST pods`, `ADOPT POST pods` (a
   * retried create that found its own object).
   */
  readonly recoveries?: ReadonlyMap<string, number>;
}

/**
 * The Kubernetes operations this project uses. Every method converts API failures into
 * `KubeApiError` (HTTP status, reason, message, verb and resource).
 */
export interface KubeClient {
  /** The namespace from the kubeconfig context or the in-cluster service account. */
  readonly defaultNamespace: string;
  get<T>(ref: ResourceRef, query?: Query): Promise<T>;
  /** Like `get`, but resolves `undefined` on 404. */
  find<T>(ref: ResourceRef, query?: Query): Promise<T | undefined>;
  list<T>(ref: ResourceRef, options?: ListOptions): Promise<KubeList<T>>;
  create<T>(ref: ResourceRef, body: T, query?: Query, options?: CreateOptions): Promise<T>;
  /** Replace (PUT); use `metadata.resourceVersion` in `body` for compare-and-swap. */
  replace<T>(ref: ResourceRef, body: T, query?: Query): Promise<T>;
  patch<T>(ref: ResourceRef, body: unknown, type?: PatchType, query?: Query): Promise<T>;
  /** Resolves `false` when the object was already gone (404). */
  delete(ref: ResourceRef, query?: Query, body?: unknown): Promise<boolean>;
  /**
   * Watches `ref` (a collection; use `fieldSelector: metadata.name=<n>` for one object) and calls
   * `handler` per event until it returns true, the signal aborts, or the server ends the watch.
   * Resolves with the object of the event that stopped it, or `undefined`.
   */
  watch<T>(ref: ResourceRef, handler: WatchHandler<T>, options?: WatchOptions): Promise<T | undefined>;
  exec(options: ExecOptions): Promise<ExecResult>;
  /** Returns the pod's log as text, or streams it to `out` when given. */
  logs(options: LogOptions, out?: Writable): Promise<string>;
  readonly stats: RequestStats;
  /** Releases sockets so the process can exit. */
  close(): void;
}
