import type { Writable } from 'node:stream';
import type { RequestContext } from '../api-error.js';
import { isNotFound } from '../errors.js';
import type {
  CreateOptions,
  ExecOptions,
  ExecResult,
  KubeClient,
  KubeList,
  ListOptions,
  LogOptions,
  PatchType,
  Query,
  ResourceRef,
  WatchHandler,
  WatchOptions,
} from '../types.js';
import {
  drain,
  execMatches,
  logMatches,
  playExec,
  playLogs,
  take,
  type ExecMatch,
  type ExecReply,
  type LogMatch,
  type LogReply,
  type ScriptEntry,
} from './exec-script.js';
import { faultError, isApiFault, type ApiFault } from './faults.js';
import { matchesFields, matchesLabels, mergePatch } from './selectors.js';
import type { FakeCall, FakeObject, FakeVerb, Fault, FaultOptions, Reactor } from './fake-types.js';
import { WatchHub } from './watch-hub.js';

const HTTP: Readonly<Record<FakeVerb, string>> = {
  get: 'GET',
  list: 'LIST',
  create: 'POST',
  replace: 'PUT',
  patch: 'PATCH',
  delete: 'DELETE',
  watch: 'WATCH',
  exec: 'EXEC',
  logs: 'LOGS',
};
const RBAC: Readonly<Record<FakeVerb, string>> = {
  get: 'get',
  list: 'list',
  create: 'create',
  replace: 'update',
  patch: 'patch',
  delete: 'delete',
  watch: 'watch',
  exec: 'create',
  logs: 'get',
};
const SUBRESOURCE: Partial<Record<FakeVerb, string>> = { exec: 'pods/exec', logs: 'pods/log' };

const copy = <T>(value: T): T => structuredClone(value);

/**
 * An in-memory `KubeClient` for unit tests (never for production code). It keeps objects per
 * resource with `uid`s and `resourceVersion`s; `get`/`list` (label and field selectors)/`create`
 * (409 AlreadyExists, `generateName`)/`replace` (409 Conflict on a stale resourceVersion)/`patch`
 * (merge)/`delete` (`false` when absent) behave like the API server; watches replay the changes
 * after their resourceVersion (410 Gone once `compact` dropped it), then deliver later writes,
 * and can be ended or broken; exec and logs answer from a script. `failNext` injects faults per
 * call, reactors play controllers and kubelets, and `calls` records every call in order.
 */
export class FakeKubeClient implements KubeClient {
  readonly defaultNamespace: string;
  /** Every call, in order. */
  readonly calls: FakeCall[] = [];
  /** Objects by `<plural>/<namespace>/<name>` (`<plural>//<name>` when cluster-scoped). */
  readonly store = new Map<string, FakeObject>();
  readonly reactors: Reactor[] = [];
  /** Resources the server does not have: every request on them answers 404. */
  readonly missingResources = new Set<string>();
  private version = 1;
  private uid = 1;
  private readonly watches = new WatchHub();
  private readonly faults: Fault[] = [];
  private readonly execScript: ScriptEntry<ExecMatch, ExecReply>[] = [];
  private readonly logScript: ScriptEntry<LogMatch, LogReply>[] = [];

  constructor(options: { readonly defaultNamespace?: string } = {}) {
    this.defaultNamespace = options.defaultNamespace ?? 'ci';
  }

  /** Every call as `VERB plural` (`GET pods`, `POST secrets`, `EXEC pods`, …), in order. */
  get requests(): string[] {
    return this.calls.map((c) => `${HTTP[c.verb]} ${c.plural}`);
  }

  get stats() {
    const byKind = new Map<string, number>();
    for (const r of this.requests) byKind.set(r, (byKind.get(r) ?? 0) + 1);
    return { byKind, total: this.calls.length };
  }

  // ---- arranging a test -------------------------------------------------------------------

  /** Stores `object` as it is (arranging a test, or a reactor's write): a new resourceVersion, watchers told. */
  put(plural: string, object: FakeObject, type: 'ADDED' | 'MODIFIED' = 'MODIFIED'): FakeObject {
    const meta = object.metadata ?? {};
    const stored = copy({
      ...object,
      metadata: { creationTimestamp: new Date().toISOString(), uid: `uid-${this.uid++}`, ...meta, resourceVersion: String(++this.version) },
    });
    this.store.set(`${plural}/${meta.namespace ?? ''}/${meta.name ?? ''}`, stored);
    this.watches.publish(plural, meta.namespace, { type, object: stored });
    for (const react of this.reactors) react(plural, copy(stored), this);
    return copy(stored);
  }

  /** Removes an object as a controller would (watchers get DELETED); false when it was not there. */
  remove(plural: string, namespace: string | undefined, name: string): boolean {
    const key = `${plural}/${namespace ?? ''}/${name}`;
    const current = this.store.get(key);
    if (!current) return false;
    this.store.delete(key);
    const gone = copy({ ...current, metadata: { ...current.metadata, resourceVersion: String(++this.version) } });
    this.watches.publish(plural, namespace, { type: 'DELETED', object: gone });
    return true;
  }

  /** The stored objects of `plural` (in any namespace), as stored. */
  all(plural: string): FakeObject[] {
    return [...this.store.entries()].filter(([k]) => k.startsWith(`${plural}/`)).map(([, o]) => o);
  }

  /** The next `times` calls of `verb` on `plural` fail with `error` (an `apiError(…)` answer, or any Error thrown as it is). */
  failNext(verb: FakeVerb, plural: string, error: ApiFault | Error, options: FaultOptions = {}): this {
    this.faults.push({ verb, plural, name: options.name, error, after: options.after ?? false, times: options.times ?? 1 });
    return this;
  }

  /** Answers the execs `match` selects (first script entry first) with `reply`, `times` times (default: every one). */
  onExec(match: ExecMatch, reply: ExecReply, options: { readonly times?: number } = {}): this {
    this.execScript.push({ match, reply, times: options.times ?? Infinity });
    return this;
  }

  /** Answers the log requests `match` selects with `reply`, `times` times (default: every one). Unscripted: an empty log. */
  onLogs(match: LogMatch, reply: LogReply, options: { readonly times?: number } = {}): this {
    this.logScript.push({ match, reply, times: options.times ?? Infinity });
    return this;
  }

  /** Forgets the changes before now: a watch from an older resourceVersion answers 410 Gone. */
  compact(): void {
    this.watches.compact(this.version);
  }

  /** The open watches (of `plural`). */
  openWatches(plural?: string): number {
    return this.watches.count(plural);
  }

  /** The server ends the open watches (of `plural`): each resolves with `undefined`. */
  endWatches(plural?: string): void {
    this.watches.end(plural);
  }

  /** The open watches of `plural` fail with `error` (e.g. `apiError(410)` as an ERROR event). */
  breakWatches(plural: string, error: ApiFault | Error): void {
    this.watches.end(plural, (namespace) => (isApiFault(error) ? faultError(error, { verb: 'watch', group: '', resource: plural, namespace }) : error));
  }

  // ---- the KubeClient ---------------------------------------------------------------------

  async get<T>(ref: ResourceRef, query?: Query): Promise<T> {
    return this.run({ verb: 'get', ...this.where(ref), query }, ref, () => copy(this.existing(ref, 'get')) as T);
  }

  async find<T>(ref: ResourceRef, query?: Query): Promise<T | undefined> {
    try {
      return await this.get<T>(ref, query);
    } catch (err) {
      if (isNotFound(err) && !this.missingResources.has(ref.type.plural)) return undefined;
      throw err;
    }
  }

  async list<T>(ref: ResourceRef, options: ListOptions = {}): Promise<KubeList<T>> {
    const call: FakeCall = { verb: 'list', ...this.where(ref), name: undefined, labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
    return this.run(call, ref, () => {
      const items = this.objectsOf(ref.type.plural, ref.namespace)
        .filter((o) => matchesLabels(o.metadata?.labels, options.labelSelector) && matchesFields(o, options.fieldSelector))
        .map((o) => copy(o) as T);
      return { metadata: { resourceVersion: String(this.version) }, items };
    });
  }

  async create<T>(ref: ResourceRef, body: T, query?: Query, _options?: CreateOptions): Promise<T> {
    const obj = copy(body) as FakeObject;
    const meta = obj.metadata ?? {};
    const call: FakeCall = { verb: 'create', ...this.where(ref), name: meta.name, body: copy(body), query };
    return this.run(call, ref, () => {
      const name =
        meta.name ?? (meta.generateName !== undefined ? `${meta.generateName}${(this.uid * 7919).toString(36).padStart(5, '0').slice(-5)}` : undefined);
      if (name === undefined) throw this.fail(call, ref, { status: 422, reason: 'Invalid', message: 'name or generateName is required' });
      call.name = name;
      if (this.store.has(this.key(ref.type.plural, ref.namespace, name))) throw this.fail(call, ref, { status: 409, reason: 'AlreadyExists' });
      return this.put(ref.type.plural, { ...obj, metadata: { ...meta, name, namespace: ref.namespace } }, 'ADDED') as T;
    });
  }

  async replace<T>(ref: ResourceRef, body: T, query?: Query): Promise<T> {
    const obj = copy(body) as FakeObject;
    const name = ref.name ?? obj.metadata?.name;
    const target = { ...ref, name };
    const call: FakeCall = { verb: 'replace', ...this.where(target), body: copy(body), query };
    return this.run(call, target, () => {
      const current = this.existing(target, 'replace');
      const rv = obj.metadata?.resourceVersion;
      if (rv !== undefined && rv !== current.metadata?.resourceVersion) throw this.fail(call, target, { status: 409, reason: 'Conflict' });
      return this.put(ref.type.plural, {
        ...obj,
        metadata: { ...obj.metadata, name, namespace: ref.namespace, uid: current.metadata?.uid, creationTimestamp: current.metadata?.['creationTimestamp'] },
      }) as T;
    });
  }

  async patch<T>(ref: ResourceRef, body: unknown, type: PatchType = 'merge', query?: Query): Promise<T> {
    if (type !== 'merge' && type !== 'strategic') throw new Error(`FakeKubeClient: ${type} patches are not supported`);
    return this.run({ verb: 'patch', ...this.where(ref), body: copy(body), query }, ref, () => {
      const current = this.existing(ref, 'patch');
      const patched = mergePatch(current, body) as FakeObject;
      return this.put(ref.type.plural, { ...patched, metadata: { ...patched.metadata, uid: current.metadata?.uid } }) as T;
    });
  }

  async delete(ref: ResourceRef, query?: Query, _body?: unknown): Promise<boolean> {
    return this.run({ verb: 'delete', ...this.where(ref), query }, ref, () => this.remove(ref.type.plural, ref.namespace, ref.name ?? ''));
  }

  async watch<T>(ref: ResourceRef, handler: WatchHandler<T>, options: WatchOptions = {}): Promise<T | undefined> {
    const { labelSelector, fieldSelector, resourceVersion } = options;
    const call: FakeCall = { verb: 'watch', ...this.where(ref), name: undefined, labelSelector, fieldSelector, resourceVersion };
    return this.run(call, ref, () => {
      if (options.signal?.aborted) return undefined;
      const from = resourceVersion === undefined || resourceVersion === '' ? undefined : Number(resourceVersion);
      if (from !== undefined && from !== 0 && this.watches.isGone(from)) {
        throw this.fail(call, ref, {
          status: 410,
          reason: 'Expired',
          message: `too old resource version: ${resourceVersion} (${this.watches.oldestWatchable})`,
        });
      }
      // Without a version the watch starts with the objects there are (as ADDED), like the API server's.
      const backlog =
        from === undefined || from === 0
          ? this.objectsOf(ref.type.plural, ref.namespace).map((object) => ({ type: 'ADDED' as const, object: copy(object) }))
          : this.watches.since(ref.type.plural, ref.namespace, from);
      return this.watches.open(ref, handler, options, backlog);
    });
  }

  async exec(options: ExecOptions): Promise<ExecResult> {
    const { namespace, pod, container, command } = options;
    const call: FakeCall = { verb: 'exec', plural: 'pods', namespace, name: pod, container, command: [...command] };
    const ref: ResourceRef = { type: { group: '', version: 'v1', plural: 'pods', namespaced: true }, namespace, name: pod };
    return this.run(call, ref, async () => {
      const stdin = await drain(options.stdin);
      call.stdin = stdin;
      const reply = take(this.execScript, (m) => execMatches(m, options));
      if (!reply) throw new Error(`FakeKubeClient: no exec scripted for ${namespace}/${pod}/${container}: ${JSON.stringify(command)}`);
      return playExec(options, typeof reply === 'function' ? await reply(options) : reply);
    });
  }

  async logs(options: LogOptions, out?: Writable): Promise<string> {
    const call: FakeCall = { verb: 'logs', plural: 'pods', namespace: options.namespace, name: options.pod, container: options.container };
    const ref: ResourceRef = { type: { group: '', version: 'v1', plural: 'pods', namespaced: true }, namespace: options.namespace, name: options.pod };
    return this.run(call, ref, async () => {
      const reply = take(this.logScript, (m) => logMatches(m, options)) ?? {};
      return playLogs(typeof reply === 'function' ? await reply(options) : reply, out);
    });
  }

  close(): void {}

  // ---- inside -----------------------------------------------------------------------------

  private key(plural: string, namespace: string | undefined, name: string | undefined): string {
    return `${plural}/${namespace ?? ''}/${name ?? ''}`;
  }

  private where(ref: ResourceRef): Pick<FakeCall, 'plural' | 'namespace' | 'name'> {
    return { plural: ref.type.plural, namespace: ref.namespace, name: ref.name };
  }

  private context(call: FakeCall, ref: ResourceRef): RequestContext {
    return { verb: RBAC[call.verb], group: ref.type.group, resource: SUBRESOURCE[call.verb] ?? ref.type.plural, namespace: ref.namespace, name: call.name };
  }

  private fail(call: FakeCall, ref: ResourceRef, fault: ApiFault | Error): Error {
    return isApiFault(fault) ? faultError(fault, this.context(call, ref)) : fault;
  }

  private existing(ref: ResourceRef, verb: FakeVerb): FakeObject {
    const found = this.store.get(this.key(ref.type.plural, ref.namespace, ref.name));
    if (!found)
      throw faultError({ status: 404 }, { verb: RBAC[verb], group: ref.type.group, resource: ref.type.plural, namespace: ref.namespace, name: ref.name });
    return found;
  }

  private objectsOf(plural: string, namespace: string | undefined): FakeObject[] {
    const prefix = namespace === undefined ? `${plural}/` : `${plural}/${namespace}/`;
    return [...this.store.entries()].filter(([k]) => k.startsWith(prefix)).map(([, o]) => o);
  }

  /** Records the call, applies the faults aimed at it, and runs it. */
  private async run<T>(call: FakeCall, ref: ResourceRef, act: () => T | Promise<T>): Promise<T> {
    this.calls.push(call);
    try {
      if (this.missingResources.has(call.plural))
        throw this.fail(call, ref, { status: 404, reason: 'NotFound', message: 'the server could not find the requested resource' });
      const i = this.faults.findIndex((f) => f.verb === call.verb && f.plural === call.plural && (f.name === undefined || f.name === (call.name ?? ref.name)));
      const fault = this.faults[i];
      if (fault && --fault.times <= 0) this.faults.splice(i, 1);
      if (fault && !fault.after) throw this.fail(call, ref, fault.error);
      const result = await act();
      if (fault) throw this.fail(call, ref, fault.error);
      return result;
    } catch (err) {
      call.error = err;
      throw err;
    }
  }
}
