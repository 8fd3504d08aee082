import * as c from '../check.js';
import { parseDuration } from './duration.js';

/**
 * The grammar of settings read from environment variables, the same for the hook and the cache:
 * every value arrives as a string; booleans, whole numbers and durations are spelled one way in
 * both, and a problem reads `<where>: expected <what>`. A blank value (empty or only spaces) is
 * unset. `optionalSetting` and `defaultedSetting` add what the generated reference says.
 */

/** Why a value is not accepted (returned by a field's conversion). */
export class Problem {
  constructor(readonly message: string) {}
}

/** A check of an environment string that converts it or says what is wrong. */
export function textField<T>(convert: (text: string) => T | Problem): c.Check<T> {
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

/** Any string, as it is. */
export const textSetting = textField((text) => text);

/** A string matching `pattern`; `message` says what is expected when it does not. */
export const matchingField = (pattern: RegExp, message: string): c.Check<string> => textField((text) => (pattern.test(text) ? text : new Problem(message)));

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

/** The message of a value that is not a boolean. */
export const BOOLEAN_EXPECTED = `expected true or false (also ${TRUE.slice(1).join('/')} and ${FALSE.slice(1).join('/')})`;

/** `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`, in any case, spaces around ignored; else `undefined`. */
export function parseBoolean(text: string): boolean | undefined {
  const value = text.trim().toLowerCase();
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  return undefined;
}

export const booleanField = textField((text) => parseBoolean(text) ?? new Problem(BOOLEAN_EXPECTED));

/** A whole number, 0 or more (spaces around ignored); `unit` names what it counts in messages. */
export function wholeNumberField(unit?: string): c.Check<number> {
  const expected = `expected a whole number${unit ? ` of ${unit}` : ''} (0 or more)`;
  return textField((text) => {
    const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
    return Number.isSafeInteger(n) ? n : new Problem(expected);
  });
}

/** A duration (`90s`, `30m`, `24h`, `7d`, `1h30m`) in seconds. */
export const durationField = textField((text) => parseDuration(text) ?? new Problem('expected a duration such as 90s, 30m, 24h, 7d or 1h30m'));

/** One of `values`, written exactly. */
export function choiceField<const V extends readonly string[]>(values: V): c.Check<V[number]> {
  const expected = `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return textField((text) => (values.includes(text) ? (text as V[number]) : new Problem(expected)));
}

/** What the configuration reference shows for a setting. */
export interface SettingDoc {
  readonly description: string;
  /** The value's syntax, e.g. `glob list`, `duration`, `true|false`. */
  readonly syntax: string;
  /** The text used when the variable is unset (documented as the default). */
  readonly defaultText?: string;
}

/** A setting: its check, with its documentation. */
export type Setting<T> = c.Check<T> & { readonly doc: SettingDoc };

const isBlank = (value: unknown) => value === undefined || (typeof value === 'string' && value.trim() === '');

/** A setting that must be given: its check sees every value, blank or not. */
export function requiredSetting<T>(field: c.Check<T>, doc: Omit<SettingDoc, 'defaultText'>): Setting<T> {
  return { ...field, doc };
}

/** A setting without a default: unset or blank gives `undefined`. */
export function optionalSetting<T>(field: c.Check<T>, doc: Omit<SettingDoc, 'defaultText'>): Setting<T | undefined> {
  return { expects: field.expects, run: (value, path, issues) => (isBlank(value) ? undefined : field.run(value, path, issues)), doc };
}

/** A setting whose unset or blank value is `defaultText`, checked like any other value. */
export function defaultedSetting<T>(field: c.Check<T>, defaultText: string, doc: Omit<SettingDoc, 'defaultText'>): Setting<T> {
  return {
    expects: field.expects,
    run: (value, path, issues) => field.run(isBlank(value) ? defaultText : value, path, issues),
    doc: { ...doc, defaultText },
  };
}
