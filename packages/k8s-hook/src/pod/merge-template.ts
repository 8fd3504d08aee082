import type { V1Container, V1NodeSelectorTerm, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { JOB_CONTAINER } from './containers.js';
import { imageBaseName } from './names.js';
import type { PodTemplate } from './template.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep-merges plain objects (`over` wins; arrays and scalars replace). Returns a new object. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return structuredClone(over);
  const out: Json = structuredClone(base);
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : structuredClone(v);
  return out;
}

const APPENDED = new Set(['env', 'envFrom', 'volumeMounts', 'ports', 'volumeDevices']);
const DEEP_MERGED = new Set(['securityContext', 'resources']);

/**
 * Merges a `$job`/`$<service>` template container into a hook container: `env`, `envFrom`,
 * `volumeMounts`, `ports` appended; `securityContext` and `resources` deep-merged; `name` and
 * `image` ignored; every other field replaces.
 */
export function mergeContainer(base: V1Container, patch: Json): V1Container {
  const out: Json = structuredClone(base) as unknown as Json;
  for (const [k, v] of Object.entries(patch)) {
    if (k === 'name' || k === 'image') continue;
    if (APPENDED.has(k) && Array.isArray(v)) out[k] = [...((out[k] as unknown[] | undefined) ?? []), ...structuredClone(v)];
    else if (DEEP_MERGED.has(k)) out[k] = deepMerge(out[k], v);
    else out[k] = structuredClone(v);
  }
  return out as unknown as V1Container;
}

/** ANDs the hook's required node term into each of the template's terms. */
function mergeAffinity(hook: V1PodSpec['affinity'], template: unknown): unknown {
  const hookTerms = hook?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const merged = deepMerge(hook ?? {}, template) as NonNullable<V1PodSpec['affinity']>;
  const tplTerms = isObject(template) ? (template as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: V1NodeSelectorTerm[] } } }).nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms : undefined;
  const ours = hookTerms?.[0];
  if (ours && tplTerms && merged.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution) {
    merged.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms = tplTerms.map((t) => ({
      ...structuredClone(t),
      ...(ours.matchFields || t.matchFields ? { matchFields: [...(t.matchFields ?? []), ...structuredClone(ours.matchFields ?? [])] } : {}),
      ...(ours.matchExpressions || t.matchExpressions
        ? { matchExpressions: [...(t.matchExpressions ?? []), ...structuredClone(ours.matchExpressions ?? [])] }
        : {}),
    }));
  }
  return merged;
}

/** The result of `mergePodTemplate`. */
export interface MergedPod {
  readonly pod: V1Pod;
  /** Template parts that matched nothing (e.g. `$db` without such a service). */
  readonly warnings: readonly string[];
}

/** Inputs of `mergePodTemplate` besides the pod and template. */
export interface MergeContext {
  /** Images of the services by their container name, to match `$<image base name>` too. */
  readonly serviceImages: Readonly<Record<string, string>>;
  /** The container `$job` merges into; @default `job`. */
  readonly jobContainer?: string;
}

/**
 * Applies a hook template (ADR 0134, improved) to a pod built by the hook; returns a new pod.
 * - metadata: template labels/annotations added (the hook's own labels win).
 * - `$job` merges into the job container, `$<name>` into the service with that container name (or
 *   every service whose image base name it is); other containers are added as sidecars.
 * - spec.volumes and spec.initContainers appended; spec.securityContext deep-merged; a required
 *   node affinity of the hook is ANDed into the template's; every other spec field replaces.
 * No array or object is shared between the result and its inputs.
 */
export function mergePodTemplate(pod: V1Pod, template: PodTemplate, ctx: MergeContext): MergedPod {
  const warnings: string[] = [];
  const out = structuredClone(pod);
  const meta = (out.metadata ??= {});
  meta.labels = { ...(template.metadata?.labels ?? {}), ...(meta.labels ?? {}) };
  if (template.metadata?.annotations) meta.annotations = { ...(meta.annotations ?? {}), ...template.metadata.annotations };

  const spec = (out.spec ??= { containers: [] }) as V1PodSpec & Json;
  const tplSpec = (template.spec ?? {}) as Json;
  for (const [key, value] of Object.entries(tplSpec)) {
    if (key === 'containers') continue;
    if (key === 'volumes' || key === 'initContainers') {
      (spec as Json)[key] = [...((spec[key] as unknown[] | undefined) ?? []), ...structuredClone(value as unknown[])];
    }
    else if (key === 'securityContext') spec.securityContext = deepMerge(spec.securityContext ?? {}, value) as V1PodSpec['securityContext'];
    else if (key === 'affinity') spec.affinity = mergeAffinity(spec.affinity, value) as V1PodSpec['affinity'];
    else spec[key] = structuredClone(value);
  }

  for (const tc of template.spec?.containers ?? []) {
    const patch = tc as Json;
    if (!tc.name.startsWith('$')) {
      spec.containers.push(structuredClone(patch) as unknown as V1Container);
      continue;
    }
    const wanted = tc.name.slice(1);
    const targets = spec.containers
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => {
        if (wanted === JOB_CONTAINER) return c.name === (ctx.jobContainer ?? JOB_CONTAINER);
        const image = ctx.serviceImages[c.name];
        return image !== undefined && (c.name === wanted || imageBaseName(image) === wanted);
      });
    if (targets.length === 0) {
      warnings.push(`hook template container "${tc.name}" matches no container of this job; it was not applied`);
      continue;
    }
    for (const { c, i } of targets) spec.containers[i] = mergeContainer(c, patch);
  }
  return { pod: out, warnings };
}
