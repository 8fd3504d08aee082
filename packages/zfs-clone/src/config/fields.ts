import { check as c } from '@zfs-runner-hooks/kube';
import { parseDuration } from './duration.js';
import { splitList } from './glob.js';
import { parseSource, type CloneSource } from './source.js';

/**
 * Field checks shared by the workflow and runner settings. Every value arrives as an environment
 * string; `setting` adds what the generated configuration reference says about it.
 */

/** Why a value is not accepted (returned by a field's conversion). */
class Problem {
  constructor(readonly message: string) {}
}

/** A check of an environment string that converts it or says what is wrong. */
function textField<T>(convert: (text: string) => T | Problem): c.Check<T> {
  return {
    expects: 'string',
    run: (value, path, issues) => {
      if (typeof value !== 'string') {
        issues.push({ path: [...path], message: `expected string, got ${c.typeName(value)}` });
        return c.INVALID;
      }
      const out = convert(value);
      if (out instanceof Problem) {
        issues.push({ path: [...path], message: out.message });
        return c.INVALID;
      }
      return out;
    },
  };
}

const matching = (pattern: RegExp, message: string) => textField((text) => (pattern.test(text) ? text : new Problem(message)));

/** A source (`<cache>`, `cache:<cache>`, `snapshot:<name>`) or `none`. */
export const sourceField = textField<CloneSource | 'none'>((text) => {
  if (text.trim() === 'none') return 'none';
  const parsed = parseSource(text);
  return typeof parsed === 'string' ? new Problem(parsed) : parsed;
});

export const objectNameField = matching(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, 'expected a Kubernetes object name (lower-case, digits, "-", ".")');

export const absolutePathField = textField((path) => {
  if (!/^\/[^\0]*$/.test(path)) return new Problem('expected an absolute path');
  if (path.split('/').includes('..')) return new Problem('must not contain ".."');
  if (path === '/') return new Problem('must not be "/"');
  return path;
});

export const identifierField = matching(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

const TRUTHY = ['true', '1', 'yes', 'on'];
const FALSY = ['false', '0', 'no', 'off'];

export const booleanField = textField((text) => {
  const value = text.trim().toLowerCase();
  if (TRUTHY.includes(value)) return true;
  if (FALSY.includes(value)) return false;
  return new Problem(`expected true or false (also ${TRUTHY.slice(1).join('/')} and ${FALSY.slice(1).join('/')})`);
});

/** A duration (`24h`, `90m`, `7d`) in seconds. */
export const durationField = textField((text) => parseDuration(text) ?? new Problem(`"${text}" is not a duration; write e.g. 30m, 24h or 7d`));

/** `false`/`0` (off), `true` (the runner's default time to keep) or a duration. */
export const keepField = textField<number | 'default'>((text) => {
  const value = text.trim().toLowerCase();
  if (FALSY.includes(value)) return 0;
  if (TRUTHY.includes(value)) return 'default';
  return parseDuration(value) ?? new Problem(`"${text}" is neither true/false nor a duration such as 24h`);
});

/** A comma-separated list of glob patterns. */
export const globListField = textField((text) => splitList(text));

/** A cache bound to the repositories that may promote it: `<cache glob>=<repository glob>`. */
export interface CacheBinding {
  readonly cache: string;
  readonly repository: string;
}

/** A comma-separated list of `<cache glob>=<repository glob>` entries (`gcc12-*=acme/compiler,clang17=acme/*`). */
export const bindingListField = textField<CacheBinding[]>((text) => {
  const bindings: CacheBinding[] = [];
  for (const entry of splitList(text)) {
    const parts = entry.split('=').map((s) => s.trim());
    const [cache = '', repository = ''] = parts;
    if (parts.length !== 2 || cache === '' || repository === '') {
      return new Problem(`"${entry}" is not <cache glob>=<repository glob>; write e.g. gcc12-*=your-org/compiler`);
    }
    bindings.push({ cache, repository });
  }
  return bindings;
});

/** A non-negative integer. */
export const countField = textField((text) => (/^\d+$/.test(text) ? Number(text) : new Problem('expected a whole number')));

/** One of `values`, written exactly. */
export function choiceField<const V extends readonly string[]>(values: V): c.Check<V[number]> {
  return textField((text) => (values.includes(text) ? (text as V[number]) : new Problem(`expected one of ${values.map((v) => JSON.stringify(v)).join('|')}`)));
}

/** What the configuration reference shows for a setting. */
export interface SettingDoc {
  readonly description: string;
  /** The value's syntax, e.g. `glob list`, `duration`. */
  readonly syntax: string;
  /** The text used when the variable is unset (documented as the default). */
  readonly defaultText?: string;
}

/** A setting: its check, with its documentation. */
export type Setting<T> = c.Check<T> & { readonly doc: SettingDoc };

/** A setting without a default: unset gives `undefined`. */
export function optionalSetting<T>(field: c.Check<T>, doc: Omit<SettingDoc, 'defaultText'>): Setting<T | undefined> {
  return { ...c.optional(field), doc };
}

/** A setting whose unset value is `defaultText`, checked like any other value. */
export function defaultedSetting<T>(field: c.Check<T>, defaultText: string, doc: Omit<SettingDoc, 'defaultText'>): Setting<T> {
  return {
    expects: field.expects,
    run: (value, path, issues) => field.run(value === undefined ? defaultText : value, path, issues),
    doc: { ...doc, defaultText },
  };
}
