import type { V1Container, V1EnvVar, V1PodSpec } from '@kubernetes/client-node';
import type { PolicyRule } from './rbac-rules.js';
import { readYaml } from './deploy-files.js';

/** The parts of the gha-runner-scale-set values that the deploy checks read. */
export interface ScaleSetValues {
  readonly runnerScaleSetName?: string;
  readonly containerMode?: {
    readonly type?: string;
    readonly kubernetesModeWorkVolumeClaim?: { readonly storageClassName?: string };
    readonly kubernetesModeAdditionalRoleRules?: readonly PolicyRule[];
  };
  readonly template?: { readonly spec?: V1PodSpec };
}

export const VALUES_FILE = 'deploy/helm/values.yaml';

/** Reads deploy/helm/values.yaml. */
export function readValues(): ScaleSetValues {
  return readYaml(VALUES_FILE) as ScaleSetValues;
}

/** The container named `runner` of the values' pod template (ARC's required name). */
export function runnerContainer(values: ScaleSetValues): V1Container {
  const container = values.template?.spec?.containers.find((c) => c.name === 'runner');
  if (!container) throw new Error(`${VALUES_FILE}: template.spec.containers has no container named "runner"`);
  return container;
}

/** The runner container's env as a map of literal values (`valueFrom` entries map to `undefined`). */
export function runnerEnv(values: ScaleSetValues): Map<string, string | undefined> {
  return new Map((runnerContainer(values).env ?? []).map((e: V1EnvVar) => [e.name, e.value]));
}
