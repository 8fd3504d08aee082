import { readFile } from 'node:fs/promises';
import { check as c, type Output } from '@zfs-runner-hooks/vocabulary';
import { HookError } from '../errors.js';

const named = c.object({ name: c.string({ min: 1 }) });

/** The hook template (ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE): a partial pod, ADR 0134 format. */
export const podTemplateSchema = c.object({
  metadata: c.optional(
    c.object({
      labels: c.optional(c.record(c.string())),
      annotations: c.optional(c.record(c.string())),
    }),
  ),
  spec: c.optional(
    c.object({
      containers: c.optional(c.array(named)),
      initContainers: c.optional(c.array(named)),
      volumes: c.optional(c.array(named)),
      securityContext: c.optional(c.record(c.unknown())),
    }),
  ),
});
/** A validated hook template. */
export type PodTemplate = Output<typeof podTemplateSchema>;

/** Parses and validates template YAML; `source` names the file in errors. */
export async function parsePodTemplate(text: string, source: string): Promise<PodTemplate> {
  // Loaded on demand: most hook calls have no template, and the YAML parser is large.
  const { parse: parseYaml } = await import(/* webpackMode: "eager" */ 'yaml');
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new HookError('TEMPLATE_INVALID', `Hook template ${source} is not valid YAML: ${(err as Error).message}`, {
      cause: err,
      hint: 'Fix the file named by ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE.',
    });
  }
  const result = c.parse(podTemplateSchema, doc ?? {});
  if (!result.ok) {
    throw new HookError('TEMPLATE_INVALID', `Hook template ${source} is invalid:\n  ${c.formatIssues(result.issues).join('\n  ')}`, {
      hint: 'The template is a partial pod: metadata.labels/annotations and spec (containers named $job, $<service>, …).',
    });
  }
  return result.value;
}

/** Reads and validates the template file; a missing or unreadable file is an error naming it. */
export async function loadPodTemplate(path: string): Promise<PodTemplate> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new HookError('TEMPLATE_INVALID', `Cannot read hook template ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err,
      hint: 'ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE must name a readable YAML file (e.g. a mounted ConfigMap key).',
    });
  }
  return parsePodTemplate(text, path);
}
