import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { HookError } from '../errors.js';
import { formatIssues } from '../protocol/issues.js';

const named = z.looseObject({ name: z.string().min(1) });

/** The hook template (ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE): a partial pod, ADR 0134 format. */
export const podTemplateSchema = z.looseObject({
  metadata: z
    .looseObject({
      labels: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  spec: z
    .looseObject({
      containers: z.array(named).optional(),
      initContainers: z.array(named).optional(),
      volumes: z.array(named).optional(),
      securityContext: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
});
/** A validated hook template. */
export type PodTemplate = z.output<typeof podTemplateSchema>;

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
  const result = podTemplateSchema.safeParse(doc ?? {}, { reportInput: true });
  if (!result.success) {
    throw new HookError(
      'TEMPLATE_INVALID',
      `Hook template ${source} is invalid:\n  ${formatIssues(result.error.issues).join('\n  ')}`,
      { hint: 'The template is a partial pod: metadata.labels/annotations and spec (containers named $job, $<service>, …).' },
    );
  }
  return result.data;
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
