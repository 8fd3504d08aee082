import type { V1Container, V1NodeSelectorTerm, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { JOB_CONTAINER } from './containers.js';
import { HOOK_LABEL_KEYS } from './labels.js';
import { imageBaseName } from './names.js';
import { normalizeCapability } from './option-limits.js';
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

const capNames = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * A container `securityContext` with the template's deep-merged over the hook's, except
 * `capabilities`: both `add` lists and both `drop` lists are joined, and a capability the template
 * drops (or every one, for `ALL`) stays only if the template adds it itself — the template's
 * drops always win over the workflow's `--cap-add`.
 */
export function mergeSecurityContext(base: unknown, template: unknown): unknown {
  const merged = deepMerge(base ?? {}, template);
  const theirs = isObject(template) && isObject(template['capabilities']) ? template['capabilities'] : undefined;
  if (!isObject(merged) || !theirs) return merged;
  const ours = isObject(base) && isObject(base['capabilities']) ? base['capabilities'] : {};
  const dropped = new Set(capNames(theirs['drop']).map(normalizeCapability));
  const kept = (cap: string) => !dropped.has('ALL') && !dropped.has(normalizeCapability(cap));
  const add = [...new Set([...capNames(ours['add']).filter(kept), ...capNames(theirs['add'])])];
  const drop = [...new Set([...capNames(ours['drop']), ...capNames(theirs['drop'])])];
  return { ...merged, capabilities: { ...(add.length ? { add } : {}), ...(drop.length ? { drop } : {}) } };
}

/**
 * Merges a `$job`/`$<service>` template container into a hook container: `env`, `envFrom`,
 * `volumeMounts`, `ports` appended (the template's `env` as the admin wrote it, `$(VAR)` and
 * all); `securityContext` deep-merged with the capability lists joined and the template's drops
 * winning (`mergeSecurityContext`); `resources` deep-merged; `name` and `image` ignored; every
 * other field replaces.
 */
export function mergeContainer(base: V1Container, patch: Json): V1Container {
  const out: Json = structuredClone(base) as unknown as Json;
  for (const [k, v] of Object.entries(patch)) {
    if (k === 'name' || k === 'image') continue;
    if (APPENDED.has(k) && Array.isArray(v)) out[k] = [...((out[k] as unknown[] | undefined) ?? []), ...structuredClone(v)];
    else if (k === 'securityContext') out[k] = mergeSecurityContext(out[k], v);
    else if (k === 'resources') out[k] = deepMerge(out[k], v);
    else out[k] = structuredClone(v);
  }
  return out as unknown as V1Container;
}

/** A container of the pod a template container can merge into. */
export interface TemplateTarget {
  readonly name: string;
  /** A service's image; undefined for the job (or step) container. */
  readonly image?: string | undefined;
}

/**
 * Whether template container `templateName` (`$job`, `$<name>`) merges into `target`: `$job` into
 * the container named `jobContainer`, `$<name>` into the service with that container name or
 * image base name.
 */
export function templateMatches(templateName: string, target: TemplateTarget, jobContainer: string = JOB_CONTAINER): boolean {
  if (!templateName.startsWith('$')) return false;
  const wanted = templateName.slice(1);
  if (wanted === JOB_CONTAINER) return target.name === jobContainer;
  return target.image !== undefined && (target.name === wanted || imageBaseName(target.image) === wanted);
}

/** The template containers that merge into `target`, in template order. */
export function templatePatchesFor(template: PodTemplate | undefined, target: TemplateTarget, jobContainer?: string): Json[] {
  return (template?.spec?.containers ?? []).filter((tc) => templateMatches(tc.name, target, jobContainer)).map((tc) => tc as Json);
}

/** ANDs the hook's required node term into each of the template's terms. */
function mergeAffinity(hook: V1PodSpec['affinity'], template: unknown): unknown {
  const hookTerms = hook?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const merged = deepMerge(hook ?? {}, template) as NonNullable<V1PodSpec['affinity']>;
  const tplTerms = isObject(template)
    ? (template as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: V1NodeSelectorTerm[] } } }).nodeAffinity
        ?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms
    : undefined;
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
 * - metadata: template labels/annotations added; the template's labels win over the workflow's
 *   (`--label`), the hook's own (`runner-pod`, managed-by, role) over both.
 * - `$job` merges into the job container, `$<name>` into the service with that container name (or
 *   every service whose image base name it is); other containers are added as sidecars.
 * - spec.volumes and spec.initContainers appended; spec.securityContext deep-merged; a required
 *   node affinity of the hook is ANDed into the template's; every other spec field replaces.
 * No array or object is shared between the result and its inputs.
 */
export function mergePodTemplate(pod: V1Pod, template: PodTemplate, ctx: MergeContext): MergedPod {
  const warnings: string[] = [];
  const out = structuredClone(pod);
  out.metadata ??= {};
  const meta = out.metadata;
  const own = Object.entries(meta.labels ?? {}).filter(([k]) => HOOK_LABEL_KEYS.includes(k));
  meta.labels = { ...(meta.labels ?? {}), ...(template.metadata?.labels ?? {}), ...Object.fromEntries(own) };
  if (template.metadata?.annotations) meta.annotations = { ...(meta.annotations ?? {}), ...template.metadata.annotations };

  out.spec ??= { containers: [] };
  const spec = out.spec as V1PodSpec & Json;
  const tplSpec = (template.spec ?? {}) as Json;
  for (const [key, value] of Object.entries(tplSpec)) {
    if (key === 'containers') continue;
    if (key === 'volumes' || key === 'initContainers') {
      (spec as Json)[key] = [...((spec[key] as unknown[] | undefined) ?? []), ...structuredClone(value as unknown[])];
    } else if (key === 'securityContext') spec.securityContext = deepMerge(spec.securityContext ?? {}, value) as V1PodSpec['securityContext'];
    else if (key === 'affinity') spec.affinity = mergeAffinity(spec.affinity, value) as V1PodSpec['affinity'];
    else spec[key] = structuredClone(value);
  }

  for (const tc of template.spec?.containers ?? []) {
    const patch = tc as Json;
    if (!tc.name.startsWith('$')) {
      spec.containers.push(structuredClone(patch) as unknown as V1Container);
      continue;
    }
    const targets = spec.containers
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => templateMatches(tc.name, { name: c.name, image: ctx.serviceImages[c.name] }, ctx.jobContainer));
    if (targets.length === 0) {
      warnings.push(`hook template container "${tc.name}" matches no container of this job; it was not applied`);
      continue;
    }
    for (const { c, i } of targets) spec.containers[i] = mergeContainer(c, patch);
  }
  return { pod: out, warnings };
}
