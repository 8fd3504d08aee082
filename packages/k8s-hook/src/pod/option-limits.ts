import { HookError } from '../errors.js';
import type { CreateOptions } from './create-options.js';
import { LABEL_PREFIX, MANAGED_BY_LABEL, RUNNER_POD_LABEL } from '@zfs-runner-hooks/vocabulary';
import type { PodTemplate } from './template.js';

/**
 * What the runner lets a workflow's `container.options` grant itself (the `ZRH_ALLOW*` settings).
 * Options that only narrow (`--cap-drop`, `--read-only`, `no-new-privileges`, a non-root
 * `--user`) need no setting.
 */
export interface OptionLimits {
  /** Capabilities `--cap-add` may add, upper case without `CAP_`; `ALL` allows every one. @default none */
  readonly allowedCapabilities: readonly string[];
  /** Whether `--privileged`, `--security-opt seccomp=unconfined` and `apparmor=unconfined` are honoured. @default false */
  readonly allowPrivileged: boolean;
  /** Whether `--user` may name uid 0 or gid 0 (`0`, `root`, `1001:0`). @default false */
  readonly allowRootUser: boolean;
  /** Globs (`*`: any characters) of the label keys `--label` may set; never the hook's own. @default none */
  readonly allowedLabels: readonly string[];
}

/** The defaults: a workflow's options may grant nothing beyond what the image and template give. */
export const DEFAULT_OPTION_LIMITS: OptionLimits = { allowedCapabilities: [], allowPrivileged: false, allowRootUser: false, allowedLabels: [] };

/** What the hook template fixes for one container; a workflow's options never lift it. */
export interface TemplateRestrictions {
  /** Capabilities the template drops for the container and does not add back (`ALL` included). */
  readonly drops: readonly string[];
  /** `allowPrivilegeEscalation: false` on the container. */
  readonly noPrivilegeEscalation: boolean;
  /** `privileged: false` on the container. */
  readonly unprivileged: boolean;
  /** `runAsNonRoot: true` on the pod or the container. */
  readonly nonRoot: boolean;
  /** The template sets a seccomp profile (pod or container). */
  readonly seccompProfile: boolean;
  /** The template sets an AppArmor profile (pod or container). */
  readonly appArmorProfile: boolean;
  /** Label keys the template's metadata sets. */
  readonly labels: readonly string[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const capList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').map(normalizeCapability) : []);

/** A capability as Kubernetes and the limits spell it: upper case, no `CAP_` prefix. */
export function normalizeCapability(name: string): string {
  return name.trim().replace(/^CAP_/i, '').toUpperCase();
}

/**
 * The restrictions of `template` for one container, from its pod-level `securityContext` and the
 * template containers (`$job`, `$<service>`) that merge into that container.
 */
export function templateRestrictions(template: PodTemplate | undefined, patches: readonly Json[]): TemplateRestrictions {
  const pod = isObject(template?.spec?.securityContext) ? template.spec.securityContext : {};
  const containers = patches.map((p) => (isObject(p['securityContext']) ? p['securityContext'] : {}));
  const caps = containers.map((c) => (isObject(c['capabilities']) ? c['capabilities'] : {}));
  const added = new Set(caps.flatMap((c) => capList(c['add'])));
  const any = (key: string, value: unknown) => containers.some((c) => c[key] === value);
  return {
    drops: [...new Set(caps.flatMap((c) => capList(c['drop'])))].filter((d) => !added.has(d)),
    noPrivilegeEscalation: any('allowPrivilegeEscalation', false),
    unprivileged: any('privileged', false),
    nonRoot: pod['runAsNonRoot'] === true || any('runAsNonRoot', true),
    seccompProfile: pod['seccompProfile'] !== undefined || containers.some((c) => c['seccompProfile'] !== undefined),
    appArmorProfile: pod['appArmorProfile'] !== undefined || containers.some((c) => c['appArmorProfile'] !== undefined),
    labels: Object.keys(template?.metadata?.labels ?? {}),
  };
}

/** Label keys (and prefixes, ending in `/`) only the hook sets: ARC's cleanup and the hook's selectors rely on them. */
export const RESERVED_LABELS: readonly string[] = [RUNNER_POD_LABEL, MANAGED_BY_LABEL, LABEL_PREFIX];

const isReservedLabel = (key: string) => RESERVED_LABELS.some((r) => (r.endsWith('/') ? key.startsWith(r) : key === r));
const globMatches = (glob: string, key: string) =>
  new RegExp(
    `^${glob
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(key);

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `key` is a valid Kubernetes label key (`[prefix/]name`). */
export function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  return LABEL_NAME.test(slash < 0 ? key : key.slice(slash + 1)) && (prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix)));
}

/** Whether `value` is a valid Kubernetes label value (empty, or up to 63 name characters). */
export function isLabelValue(value: string): boolean {
  return value === '' || LABEL_NAME.test(value);
}

const list = (items: readonly string[]) => (items.length ? items.join(',') : 'unset');

/**
 * The options of one container that its limits or the hook template refuse, each naming the
 * option and what would allow it. Empty: everything may be applied.
 */
export function refusedOptions(options: CreateOptions, limits: OptionLimits, template: TemplateRestrictions): string[] {
  const out: string[] = [];
  const sc = options.securityContext ?? {};
  const templateWins = (what: string) => `the hook template sets ${what} for this container, and the template's restrictions always win`;

  for (const cap of sc.capabilities?.add ?? []) {
    const flag = `--cap-add ${cap}`;
    const dropped = template.drops.find((d) => d === 'ALL' || d === cap || cap === 'ALL');
    if (dropped) out.push(`${flag}: ${templateWins(`capabilities.drop: [${dropped}]`)}`);
    else if ((cap === 'SYS_ADMIN' || cap === 'ALL') && template.noPrivilegeEscalation) out.push(`${flag}: ${templateWins('allowPrivilegeEscalation: false')}`);
    else if (!limits.allowedCapabilities.includes(cap) && !limits.allowedCapabilities.includes('ALL')) {
      out.push(
        `${flag}: the runner does not allow adding ${cap} (ZRH_ALLOWED_CAPABILITIES is ${list(limits.allowedCapabilities)}); add ${cap} to ZRH_ALLOWED_CAPABILITIES to allow it`,
      );
    }
  }

  const privileged: [string, boolean, string | undefined][] = [
    [
      '--privileged',
      sc.privileged === true,
      template.unprivileged ? 'privileged: false' : template.noPrivilegeEscalation ? 'allowPrivilegeEscalation: false' : undefined,
    ],
    ['--security-opt seccomp=unconfined', sc.seccompProfile !== undefined, template.seccompProfile ? 'a seccompProfile' : undefined],
    ['--security-opt apparmor=unconfined', sc.appArmorProfile !== undefined, template.appArmorProfile ? 'an appArmorProfile' : undefined],
  ];
  for (const [flag, asked, fixedBy] of privileged) {
    if (!asked) continue;
    if (fixedBy) out.push(`${flag}: ${templateWins(fixedBy)}`);
    else if (!limits.allowPrivileged) out.push(`${flag}: the runner does not allow privileged options; set ZRH_ALLOW_PRIVILEGED=true to allow it`);
  }

  if (sc.runAsUser === 0 || sc.runAsGroup === 0) {
    const flag = `--user ${options.user ?? `${sc.runAsUser ?? ''}${sc.runAsGroup === undefined ? '' : `:${sc.runAsGroup}`}`}`;
    if (sc.runAsUser === 0 && template.nonRoot) out.push(`${flag}: ${templateWins('runAsNonRoot: true')}`);
    else if (!limits.allowRootUser) out.push(`${flag}: the runner does not allow user or group 0 (root); set ZRH_ALLOW_ROOT_USER=true to allow it`);
  }

  for (const [key, value] of Object.entries(options.labels)) {
    const flag = `--label ${key}=${value}`;
    if (!isLabelKey(key) || !isLabelValue(value))
      out.push(`${flag}: not a valid Kubernetes label (key: [prefix/]name, name and value up to 63 letters, digits, '-', '_', '.')`);
    else if (isReservedLabel(key)) out.push(`${flag}: ${key} is one of the hook's own labels (${RESERVED_LABELS.join(', ')}), which a workflow may never set`);
    else if (template.labels.includes(key)) out.push(`${flag}: ${templateWins(`the label ${key}`)}`);
    else if (!limits.allowedLabels.some((glob) => globMatches(glob, key))) {
      out.push(
        `${flag}: the runner does not allow the label key ${key} (ZRH_ALLOWED_LABELS is ${list(limits.allowedLabels)}); add ${key} or a pattern matching it to ZRH_ALLOWED_LABELS to allow it`,
      );
    }
  }
  return out;
}

/**
 * Throws an `OPTION_REFUSED` HookError listing every refused option of `what` (e.g. `job
 * container`), before anything is created.
 */
export function checkOptions(what: string, options: CreateOptions, limits: OptionLimits, template: TemplateRestrictions): void {
  const refused = refusedOptions(options, limits, template);
  if (refused.length === 0) return;
  throw new HookError('OPTION_REFUSED', `Options of the ${what} are not allowed:\n  ${refused.join('\n  ')}`, {
    hint: "Remove them from the workflow's `options:`, or ask the runner's administrator for the setting named (docs/hook-configuration.md).",
  });
}
