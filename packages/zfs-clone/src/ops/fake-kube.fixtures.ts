import { KubeApiError, type KubeClient, type KubeList, type ResourceRef, type WatchEvent, type WatchHandler } from '@zfs-runner-hooks/kube';

type Obj = { metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; [k: string]: unknown }; [k: string]: unknown };

/** Reacts to a stored object (like a controller would); may return a replacement. */
export type Reactor = (plural: string, object: Obj, fake: FakeKube) => void;

function apiError(status: number, reason: string, verb: string, ref: ResourceRef, message: string): KubeApiError {
  const code = status === 404 ? 'NOT_FOUND' : status === 409 ? (reason === 'AlreadyExists' ? 'ALREADY_EXISTS' : 'CONFLICT') : 'INVALID';
  return new KubeApiError(code, message, {
    status,
    reason,
    serverMessage: message,
    verb,
    resource: ref.type.plural,
    group: ref.type.group,
    namespace: ref.namespace,
    name: ref.name,
    causes: [],
  });
}

function matchesLabels(labels: Record<string, string> | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return v === undefined ? (labels ?? {})[k ?? ''] !== undefined : (labels ?? {})[k ?? ''] === v;
  });
}

function matchesFields(object: Obj, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [path, value] = term.split('=');
    let cur: unknown = object;
    for (const part of (path ?? '').split('.')) cur = (cur as Record<string, unknown> | undefined)?.[part];
    return cur === value;
  });
}

/**
 * An in-memory `KubeClient` for unit tests: namespaced CRUD with resourceVersion compare-and-swap,
 * label/field selectors, watches fed by later writes, merge patches, and reactors that play the
 * controllers (binding PVCs, readying snapshots). Records every request in `requests`.
 */
export class FakeKube implements KubeClient {
  readonly defaultNamespace = 'ci';
  readonly requests: string[] = [];
  readonly store = new Map<string, Obj>();
  readonly reactors: Reactor[] = [];
  /** Plurals whose collection does not exist on the server (404 on any request). */
  readonly missingResources = new Set<string>();
  private version = 1;
  private uid = 1;
  private watchers = new Set<{ plural: string; ns: string | undefined; fire: (e: WatchEvent<Obj>) => void }>();

  get stats() {
    const byKind = new Map<string, number>();
    for (const r of this.requests) byKind.set(r, (byKind.get(r) ?? 0) + 1);
    return { byKind, total: this.requests.length };
  }

  private key(ref: ResourceRef, name = ref.name): string {
    return `${ref.type.plural}/${ref.namespace ?? ''}/${name ?? ''}`;
  }

  private record(verb: string, ref: ResourceRef): void {
    this.requests.push(`${verb} ${ref.type.plural}`);
    if (this.missingResources.has(ref.type.plural)) throw apiError(404, 'NotFound', verb.toLowerCase(), ref, 'the server could not find the requested resource');
  }

  /** Stores `object` as-is (arranging a test), bumping its resourceVersion and notifying watchers. */
  put(plural: string, object: Obj, type: 'ADDED' | 'MODIFIED' = 'MODIFIED'): Obj {
    const meta = object.metadata ?? {};
    const stored = structuredClone({
      ...object,
      metadata: {
        creationTimestamp: new Date().toISOString(),
        uid: `uid-${this.uid++}`,
        ...meta,
        resourceVersion: String(++this.version),
      },
    });
    this.store.set(`${plural}/${meta.namespace ?? ''}/${meta.name ?? ''}`, stored);
    for (const w of this.watchers) if (w.plural === plural && (w.ns === undefined || w.ns === meta.namespace)) w.fire({ type, object: structuredClone(stored) });
    for (const react of this.reactors) react(plural, structuredClone(stored), this);
    return structuredClone(stored);
  }

  async get<T>(ref: ResourceRef): Promise<T> {
    this.record('GET', ref);
    const found = this.store.get(this.key(ref));
    if (!found) throw apiError(404, 'NotFound', 'get', ref, `${ref.type.plural} "${ref.name}" not found`);
    return structuredClone(found) as T;
  }

  async find<T>(ref: ResourceRef): Promise<T | undefined> {
    try {
      return await this.get<T>(ref);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404 && !this.missingResources.has(ref.type.plural)) return undefined;
      throw error;
    }
  }

  async list<T>(ref: ResourceRef, options: { labelSelector?: string; fieldSelector?: string } = {}): Promise<KubeList<T>> {
    this.record('LIST', ref);
    const prefix = `${ref.type.plural}/${ref.namespace ?? ''}/`;
    const items = [...this.store.entries()]
      .filter(([k, o]) => k.startsWith(prefix) && matchesLabels(o.metadata?.labels, options.labelSelector) && matchesFields(o, options.fieldSelector))
      .map(([, o]) => structuredClone(o) as T);
    return { metadata: { resourceVersion: String(this.version) }, items };
  }

  async create<T>(ref: ResourceRef, body: T): Promise<T> {
    this.record('POST', ref);
    const obj = body as Obj;
    const name = obj.metadata?.name ?? '';
    if (this.store.has(this.key(ref, name))) throw apiError(409, 'AlreadyExists', 'create', ref, `${ref.type.plural} "${name}" already exists`);
    return this.put(ref.type.plural, { ...obj, metadata: { ...obj.metadata, namespace: ref.namespace } }, 'ADDED') as T;
  }

  async replace<T>(ref: ResourceRef, body: T): Promise<T> {
    this.record('PUT', ref);
    const current = this.store.get(this.key(ref));
    if (!current) throw apiError(404, 'NotFound', 'update', ref, `${ref.type.plural} "${ref.name}" not found`);
    const obj = body as Obj;
    if (obj.metadata?.resourceVersion !== undefined && obj.metadata.resourceVersion !== current.metadata?.resourceVersion) {
      throw apiError(409, 'Conflict', 'update', ref, `Operation cannot be fulfilled on ${ref.type.plural} "${ref.name}": the object has been modified`);
    }
    return this.put(ref.type.plural, { ...obj, metadata: { ...obj.metadata, uid: current.metadata?.uid } }) as T;
  }

  async patch<T>(ref: ResourceRef, body: unknown): Promise<T> {
    this.record('PATCH', ref);
    const current = this.store.get(this.key(ref));
    if (!current) throw apiError(404, 'NotFound', 'patch', ref, `${ref.type.plural} "${ref.name}" not found`);
    return this.put(ref.type.plural, mergePatch(current, body) as Obj) as T;
  }

  async delete(ref: ResourceRef): Promise<boolean> {
    this.record('DELETE', ref);
    const k = this.key(ref);
    const current = this.store.get(k);
    if (!current) return false;
    this.store.delete(k);
    for (const w of this.watchers) if (w.plural === ref.type.plural) w.fire({ type: 'DELETED', object: structuredClone(current) });
    return true;
  }

  async watch<T>(ref: ResourceRef, handler: WatchHandler<T>, options: { fieldSelector?: string; labelSelector?: string; signal?: AbortSignal } = {}): Promise<T | undefined> {
    this.record('WATCH', ref);
    return new Promise<T | undefined>((resolve, reject) => {
      let done = false;
      const watcher = {
        plural: ref.type.plural,
        ns: ref.namespace,
        fire: (event: WatchEvent<Obj>) => {
          if (done || !matchesFields(event.object, options.fieldSelector) || !matchesLabels(event.object.metadata?.labels, options.labelSelector)) return;
          Promise.resolve(handler(event as WatchEvent<T>)).then(
            (stop) => {
              if (stop && !done) finish(event.object as T);
            },
            (error: unknown) => {
              done = true;
              this.watchers.delete(watcher);
              reject(error);
            },
          );
        },
      };
      const finish = (value: T | undefined) => {
        done = true;
        this.watchers.delete(watcher);
        resolve(value);
      };
      options.signal?.addEventListener('abort', () => finish(undefined), { once: true });
      if (options.signal?.aborted) return finish(undefined);
      this.watchers.add(watcher);
      const prefix = `${ref.type.plural}/${ref.namespace ?? ''}/`;
      for (const [k, o] of this.store) if (k.startsWith(prefix)) watcher.fire({ type: 'ADDED', object: structuredClone(o) });
    });
  }

  async exec(): Promise<{ exitCode: number }> {
    throw new Error('exec is not faked');
  }

  async logs(): Promise<string> {
    return '';
  }

  close(): void {}

  /** Objects of `plural` in the store. */
  all(plural: string): Obj[] {
    return [...this.store.entries()].filter(([k]) => k.startsWith(`${plural}/`)).map(([, o]) => o);
  }
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Reactor: PVCs bind right away (Immediate binding) unless `fail` returns a warning message. */
export function bindPvcs(fail?: (pvc: Obj) => string | undefined): Reactor {
  return (plural, object, fake) => {
    if (plural !== 'persistentvolumeclaims' || (object as { status?: { phase?: string } }).status?.phase) return;
    const message = fail?.(object);
    queueMicrotask(() => {
      if (message) {
        fake.put('events', {
          metadata: { name: `${object.metadata?.name}.1`, namespace: object.metadata?.namespace },
          involvedObject: { kind: 'PersistentVolumeClaim', name: object.metadata?.name },
          type: 'Warning',
          reason: 'ProvisioningFailed',
          message,
        }, 'ADDED');
        return;
      }
      const current = fake.store.get(`persistentvolumeclaims/${object.metadata?.namespace}/${object.metadata?.name}`);
      if (current) fake.put('persistentvolumeclaims', { ...current, spec: { ...(current.spec as object), volumeName: `pv-${object.metadata?.name}` }, status: { phase: 'Bound' } });
    });
  };
}

/** Reactor: new VolumeSnapshots become ready with `size` (or report `error`). */
export function readySnapshots(size = '1Gi', error?: string): Reactor {
  return (plural, object, fake) => {
    if (plural !== 'volumesnapshots' || (object as { status?: unknown }).status) return;
    queueMicrotask(() => {
      const current = fake.store.get(`volumesnapshots/${object.metadata?.namespace}/${object.metadata?.name}`);
      if (!current) return;
      fake.put('volumesnapshots', {
        ...current,
        status: error ? { readyToUse: false, error: { message: error } } : { readyToUse: true, restoreSize: size, creationTime: new Date().toISOString() },
      });
    });
  };
}
