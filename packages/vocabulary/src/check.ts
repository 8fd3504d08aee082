/**
 * Small validators for JSON documents: the hook's stdin, state and environment, pod templates,
 * kubeconfig files. A check walks a value once, collects every problem with its path and returns
 * the cleaned value. They exist for start-up time: a hook process validates one document per
 * step, and a general schema library cost more to load and build than the rest of the process's
 * own work (docs/decisions/0014-startup-time.md).
 *
 * Messages name types, never values (a value may be a secret): `expected string, got null`.
 */

export type Path = readonly PropertyKey[];

/** One problem: where, and what was expected. */
export interface Issue {
  readonly path: Path;
  readonly message: string;
}

/** Returned by `run` when the value has problems (they are in `issues`). */
export const INVALID: unique symbol = Symbol('invalid');

export interface Check<T> {
  /** Checks `value` found at `path`; pushes problems to `issues` and returns `INVALID`, or the value. */
  readonly run: (value: unknown, path: PropertyKey[], issues: Issue[]) => T | typeof INVALID;
  /** What the check accepts, as a user would call it (`string`, `array`, …). */
  readonly expects: string;
  /** Documentation of a setting (configuration references are generated from it). */
  readonly description?: string;
}

/** The type a check returns. */
export type Output<C> = C extends Check<infer T> ? T : never;

type Shape = Record<string, Check<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends Output<S[K]> ? K : never }[keyof S];
type Flatten<T> = { [K in keyof T]: T[K] } & {};
/** An object check's output: keys whose check may give `undefined` are optional. */
export type ObjectOutput<S extends Shape> = Flatten<{ [K in Exclude<keyof S, OptionalKeys<S>>]: Output<S[K]> } & { [K in OptionalKeys<S>]?: Output<S[K]> }>;

/** An object check; `shape` lists the checks of its keys. */
export interface ObjectCheck<S extends Shape> extends Check<ObjectOutput<S>> {
  readonly shape: S;
}

/** The JSON type name of a value, as a user would call it. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Renders a path such as `args.services[1].image`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** One line per problem: `args.container.image: expected string, got null`. */
export function formatIssues(issues: readonly Issue[], prefix: Path = []): string[] {
  return issues.map((issue) => `${formatPath([...prefix, ...issue.path])}: ${issue.message}`);
}

/** Runs a check on a whole document. */
export function parse<T>(check: Check<T>, value: unknown): { ok: true; value: T } | { ok: false; issues: Issue[] } {
  const issues: Issue[] = [];
  const out = check.run(value, [], issues);
  return out === INVALID || issues.length > 0 ? { ok: false, issues } : { ok: true, value: out };
}

const wrongType = (expects: string, value: unknown, path: PropertyKey[], issues: Issue[]): typeof INVALID => {
  issues.push({ path: [...path], message: `expected ${expects}, got ${typeName(value)}` });
  return INVALID;
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface StringOptions {
  /** Minimum length; 1 rejects the empty string. */
  readonly min?: number;
  /** A pattern the whole value must match, and what to say when it does not. */
  readonly pattern?: RegExp;
  readonly patternMessage?: string;
}

export function string(options: StringOptions = {}): Check<string> {
  const { min = 0, pattern, patternMessage } = options;
  return {
    expects: 'string',
    run: (v, path, issues) => {
      if (typeof v !== 'string') return wrongType('string', v, path, issues);
      if (v.length < min) {
        issues.push({ path: [...path], message: min === 1 ? 'expected a non-empty string' : `expected at least ${min} characters` });
        return INVALID;
      }
      if (pattern && !pattern.test(v)) {
        issues.push({ path: [...path], message: patternMessage ?? `expected a string matching ${String(pattern)}` });
        return INVALID;
      }
      return v;
    },
  };
}

export function boolean(): Check<boolean> {
  return { expects: 'boolean', run: (v, path, issues) => (typeof v === 'boolean' ? v : wrongType('boolean', v, path, issues)) };
}

/** A whole number, at least `min`. */
export function integer(min = Number.MIN_SAFE_INTEGER): Check<number> {
  return {
    expects: 'integer',
    run: (v, path, issues) => {
      if (typeof v !== 'number') return wrongType('integer', v, path, issues);
      if (!Number.isSafeInteger(v) || v < min) {
        issues.push({ path: [...path], message: min > Number.MIN_SAFE_INTEGER ? `expected a whole number ≥ ${min}` : 'expected a whole number' });
        return INVALID;
      }
      return v;
    },
  };
}

export function unknown(): Check<unknown> {
  return { expects: 'anything', run: (v) => v };
}

/** Exactly one of `values` (strings). */
export function oneOf<const V extends readonly string[]>(values: V): Check<V[number]> {
  const expects = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return {
    expects,
    run: (v, path, issues) => (typeof v === 'string' && values.includes(v) ? (v as V[number]) : wrongType(expects, v, path, issues)),
  };
}

export function literal<const L extends string | number | boolean>(value: L): Check<L> {
  const expects = JSON.stringify(value);
  return { expects, run: (v, path, issues) => (v === value ? value : wrongType(expects, v, path, issues)) };
}

export function array<T>(item: Check<T>): Check<T[]> {
  return {
    expects: 'array',
    run: (v, path, issues) => {
      if (!Array.isArray(v)) return wrongType('array', v, path, issues);
      const out: T[] = [];
      let ok = true;
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        const r = item.run(v[i], path, issues);
        path.pop();
        if (r === INVALID) ok = false;
        else out.push(r);
      }
      return ok ? out : INVALID;
    },
  };
}

/** An object with string keys whose values all pass `value`. */
export function record<T>(value: Check<T>): Check<Record<string, T>> {
  return {
    expects: 'object',
    run: (v, path, issues) => {
      if (!isPlainObject(v)) return wrongType('object', v, path, issues);
      const out: Record<string, T> = {};
      let ok = true;
      for (const key of Object.keys(v)) {
        path.push(key);
        const r = value.run(v[key], path, issues);
        path.pop();
        if (r === INVALID) ok = false;
        else out[key] = r;
      }
      return ok ? out : INVALID;
    },
  };
}

/**
 * An object with the keys of `shape`; other keys are kept as they are (documents from newer
 * runners or hook versions may carry more). A missing key is checked as `undefined`.
 */
export function object<S extends Shape>(shape: S): ObjectCheck<S> {
  const keys = Object.keys(shape);
  return {
    expects: 'object',
    shape,
    run: (v, path, issues) => {
      if (!isPlainObject(v)) return wrongType('object', v, path, issues);
      const out: Record<string, unknown> = { ...v };
      let ok = true;
      for (const key of keys) {
        path.push(key);
        const r = shape[key]!.run(v[key], path, issues);
        path.pop();
        if (r === INVALID) ok = false;
        else if (r === undefined) delete out[key];
        else out[key] = r;
      }
      return ok ? (out as ObjectOutput<S>) : INVALID;
    },
  };
}

/** `object` with more (or replaced) keys. */
export function extend<S extends Shape, E extends Shape>(base: ObjectCheck<S>, more: E): ObjectCheck<Omit<S, keyof E> & E> {
  return object({ ...base.shape, ...more } as Omit<S, keyof E> & E);
}

/** A missing value (`undefined`) becomes `fallback`; `null` is still an error. */
export function optional<T>(check: Check<T>): Check<T | undefined>;
export function optional<T, D>(check: Check<T>, fallback: D): Check<T | D>;
export function optional<T, D>(check: Check<T>, fallback?: D): Check<T | D | undefined> {
  return { expects: check.expects, run: (v, path, issues) => (v === undefined ? fallback : check.run(v, path, issues)) };
}

/** `null` or a missing value becomes `fallback` (the runner's serializer writes nulls). */
export function nullish<T>(check: Check<T>): Check<T | undefined>;
export function nullish<T, D>(check: Check<T>, fallback: D): Check<T | D>;
export function nullish<T, D>(check: Check<T>, fallback?: D): Check<T | D | undefined> {
  return { expects: check.expects, run: (v, path, issues) => (v === undefined || v === null ? fallback : check.run(v, path, issues)) };
}

/** `null` stays `null`. */
export function nullable<T>(check: Check<T>): Check<T | null> {
  return { expects: check.expects, run: (v, path, issues) => (v === null ? null : check.run(v, path, issues)) };
}

/** Transforms the checked value. */
export function map<T, U>(check: Check<T>, fn: (value: T) => U): Check<U> {
  return {
    expects: check.expects,
    run: (v, path, issues) => {
      const r = check.run(v, path, issues);
      return r === INVALID ? INVALID : fn(r);
    },
  };
}

/** Transforms the raw value before checking it (e.g. an empty variable as unset). */
export function preprocess<T>(fn: (value: unknown) => unknown, check: Check<T>): Check<T> {
  return { expects: check.expects, run: (v, path, issues) => check.run(fn(v), path, issues) };
}

/** The first of `checks` the value passes; otherwise one problem naming all they accept. */
export function anyOf<C extends readonly Check<unknown>[]>(...checks: C): Check<Output<C[number]>> {
  const expects = checks.map((c) => c.expects).join(' or ');
  return {
    expects,
    run: (v, path, issues) => {
      for (const c of checks) {
        const scratch: Issue[] = [];
        const r = c.run(v, path, scratch);
        if (r !== INVALID && scratch.length === 0) return r as Output<C[number]>;
      }
      return wrongType(expects, v, path, issues);
    },
  };
}

/** The same check with a description (for generated configuration references). */
export function describe<C extends Check<unknown>>(check: C, description: string): C {
  return { ...check, description };
}
