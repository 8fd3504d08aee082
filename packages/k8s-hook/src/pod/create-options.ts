import type { V1Capabilities, V1EnvVar, V1ResourceRequirements, V1SecurityContext } from '@kubernetes/client-node';

/** What the honoured `container.options` flags change. */
export interface CreateOptions {
  readonly securityContext?: V1SecurityContext;
  readonly resources?: V1ResourceRequirements;
  readonly env: readonly V1EnvVar[];
  readonly workingDir?: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The `--user` value as written (`0`, `root`, `1001:0`), for messages. */
  readonly user?: string;
  /** `--shm-size`: size of a memory-backed emptyDir at /dev/shm. */
  readonly shmSize?: string;
  /** Flags that were not honoured, each with the reason; reported as warnings. */
  readonly ignored: readonly string[];
}

/** Splits a docker options string like a POSIX shell would (quotes and backslashes). */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1] as string)) cur += text[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur !== '') out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
    }
  }
  if (has || cur !== '') out.push(cur);
  return out;
}

const ALIASES: Readonly<Record<string, string>> = { '-u': '--user', '-w': '--workdir', '-e': '--env', '-l': '--label', '-m': '--memory' };
const TAKES_VALUE = new Set(['--user', '--workdir', '--env', '--label', '--memory', '--cpus', '--cap-add', '--cap-drop', '--security-opt', '--shm-size']);
/** Known docker flags without a value (so the next token is not swallowed when reporting them). */
const BOOLEAN_FLAGS = new Set(['--read-only', '--privileged', '--init', '--rm', '--tty', '-t', '--interactive', '-i', '--detach', '-d']);

/** docker's size units (b, k, m, g; powers of 1024) as a Kubernetes quantity. */
export function dockerSizeToQuantity(size: string): string | undefined {
  const m = /^(\d+)([bkmgt]?)b?$/i.exec(size.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  const suffix: Record<string, string> = { '': '', b: '', k: 'Ki', m: 'Mi', g: 'Gi', t: 'Ti' };
  return `${m[1]}${suffix[unit] ?? ''}`;
}

/** A numeric id, or `root` for 0. */
const userId = (part: string): number | undefined => (part === 'root' ? 0 : /^\d+$/.test(part) ? Number(part) : undefined);

/** `--security-opt` values: what each honoured one sets (`undefined`: docker's default, nothing to set). */
function securityOpt(v: string): Partial<V1SecurityContext> | undefined | 'unsupported' {
  const [key = '', value = 'true'] = v.split(/[=:](.*)/s);
  if (key === 'no-new-privileges') return value === 'true' ? { allowPrivilegeEscalation: false } : value === 'false' ? undefined : 'unsupported';
  if (key === 'seccomp' && value === 'unconfined') return { seccompProfile: { type: 'Unconfined' } };
  if (key === 'apparmor' && value === 'unconfined') return { appArmorProfile: { type: 'Unconfined' } };
  return 'unsupported';
}

/**
 * Parses `container.options` into what they would change; whether the runner allows it is
 * `refusedOptions`' decision. Honoured: `--user uid[:gid]` (numeric or `root`), `--workdir`,
 * `--env K=V`, `--label`, `--cpus`, `--memory`, `--cap-add`, `--cap-drop`, `--read-only`,
 * `--privileged`, `--security-opt no-new-privileges|seccomp=unconfined|apparmor=unconfined`,
 * `--shm-size`. Everything else is listed in `ignored` with the reason, never silently dropped
 * (and never granted).
 */
export function parseCreateOptions(text: string | undefined): CreateOptions {
  const tokens = splitArgs(text ?? '');
  const ignored: string[] = [];
  const env: V1EnvVar[] = [];
  const labels: Record<string, string> = {};
  const sc: V1SecurityContext = {};
  const caps: { add: string[]; drop: string[] } = { add: [], drop: [] };
  const limits: Record<string, string> = {};
  let workingDir: string | undefined;
  let shmSize: string | undefined;
  let user: string | undefined;

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (!token.startsWith('-')) {
      ignored.push(`"${token}": not a flag`);
      continue;
    }
    const eq = token.indexOf('=');
    const rawFlag = eq > 0 ? token.slice(0, eq) : token;
    const flag = ALIASES[rawFlag] ?? rawFlag;
    let value: string | undefined = eq > 0 ? token.slice(eq + 1) : undefined;
    if (value === undefined && TAKES_VALUE.has(flag)) {
      value = tokens[i + 1];
      if (value === undefined) {
        ignored.push(`${rawFlag}: missing value`);
        continue;
      }
      i++;
    }
    const v = value ?? '';
    switch (flag) {
      case '--user': {
        const parts = v.split(':');
        const [uid, gid] = parts.map(userId);
        if (parts.length > 2 || uid === undefined || (parts.length === 2 && gid === undefined)) {
          ignored.push(`${rawFlag} ${v}: only numeric uid[:gid] is supported in Kubernetes`);
        } else {
          user = v;
          sc.runAsUser = uid;
          if (gid !== undefined) sc.runAsGroup = gid;
        }
        break;
      }
      case '--workdir':
        workingDir = v;
        break;
      case '--env': {
        const at = v.indexOf('=');
        if (at <= 0) ignored.push(`${rawFlag} ${v}: only NAME=value is supported (the hook has no host env to pass)`);
        else env.push({ name: v.slice(0, at), value: v.slice(at + 1) });
        break;
      }
      case '--label': {
        const at = v.indexOf('=');
        labels[at < 0 ? v : v.slice(0, at)] = at < 0 ? '' : v.slice(at + 1);
        break;
      }
      case '--cpus':
        if (/^\d+(\.\d+)?$/.test(v)) limits.cpu = v;
        else ignored.push(`--cpus ${v}: expected a number`);
        break;
      case '--memory': {
        const q = dockerSizeToQuantity(v);
        if (q) limits.memory = q;
        else ignored.push(`${rawFlag} ${v}: expected a size like 512m or 2g`);
        break;
      }
      case '--shm-size': {
        const q = dockerSizeToQuantity(v);
        if (q) shmSize = q;
        else ignored.push(`--shm-size ${v}: expected a size like 512m or 2g`);
        break;
      }
      case '--cap-add':
        caps.add.push(v.replace(/^CAP_/i, '').toUpperCase());
        break;
      case '--cap-drop':
        caps.drop.push(v.replace(/^CAP_/i, '').toUpperCase());
        break;
      case '--read-only':
        if (value === undefined || value === 'true') sc.readOnlyRootFilesystem = true;
        break;
      case '--security-opt': {
        const set = securityOpt(v);
        if (set === 'unsupported') ignored.push(`--security-opt ${v}: only no-new-privileges, seccomp=unconfined and apparmor=unconfined are supported`);
        else if (set) Object.assign(sc, set);
        break;
      }
      case '--privileged':
        if (value === undefined || value === 'true') sc.privileged = true;
        break;
      default: {
        const next = tokens[i + 1];
        if (value === undefined && !BOOLEAN_FLAGS.has(flag) && next !== undefined && !next.startsWith('-')) {
          value = next;
          i++;
        }
        ignored.push(`${value === undefined ? rawFlag : `${rawFlag} ${value}`}: not supported by the Kubernetes hook`);
      }
    }
  }

  const capabilities: V1Capabilities | undefined =
    caps.add.length || caps.drop.length ? { ...(caps.add.length ? { add: caps.add } : {}), ...(caps.drop.length ? { drop: caps.drop } : {}) } : undefined;
  if (capabilities) sc.capabilities = capabilities;
  return {
    ...(Object.keys(sc).length ? { securityContext: sc } : {}),
    ...(Object.keys(limits).length ? { resources: { limits } } : {}),
    env,
    ...(workingDir !== undefined ? { workingDir } : {}),
    labels,
    ...(user !== undefined ? { user } : {}),
    ...(shmSize !== undefined ? { shmSize } : {}),
    ignored,
  };
}
