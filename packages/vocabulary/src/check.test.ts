import { describe, expect, it } from 'vitest';
import * as c from './check.js';

const problems = (check: c.Check<unknown>, value: unknown): string[] => {
  const r = c.parse(check, value);
  return r.ok ? [] : c.formatIssues(r.issues);
};
const value = <T>(check: c.Check<T>, input: unknown): T => {
  const r = c.parse(check, input);
  if (!r.ok) throw new Error(c.formatIssues(r.issues).join('; '));
  return r.value;
};

describe('checks', () => {
  it('names the expected and the given type, never the value', () => {
    expect(problems(c.string(), null)).toEqual(['(root): expected string, got null']);
    expect(problems(c.string(), undefined)).toEqual(['(root): expected string, got nothing']);
    expect(problems(c.boolean(), 'secret-value')).toEqual(['(root): expected boolean, got string']);
    expect(problems(c.array(c.string()), {})).toEqual(['(root): expected array, got object']);
    expect(problems(c.record(c.string()), [])).toEqual(['(root): expected object, got array']);
    expect(problems(c.oneOf(['a', 'b']), 'hunter2')).toEqual(['(root): expected one of "a", "b", got string']);
  });

  it('reports every problem of a document with its path', () => {
    const doc = c.object({ items: c.array(c.object({ name: c.string({ min: 1 }), port: c.integer(1) })), labels: c.record(c.string()) });
    expect(problems(doc, { items: [{ name: 'a', port: 80 }, { name: '', port: 0 }, { port: 'x' }], labels: { a: 1 } })).toEqual([
      'items[1].name: expected a non-empty string',
      'items[1].port: expected a whole number ≥ 1',
      'items[2].name: expected string, got nothing',
      'items[2].port: expected integer, got string',
      'labels.a: expected string, got number',
    ]);
  });

  it('keeps unknown keys, drops missing optional ones and fills fallbacks', () => {
    const doc = c.object({ a: c.optional(c.string()), b: c.nullish(c.array(c.string()), []), d: c.optional(c.boolean(), true) });
    const out = value(doc, { b: null, future: { x: 1 } });
    expect(out).toStrictEqual({ b: [], d: true, future: { x: 1 } });
    expect('a' in out).toBe(false);
  });

  it('tells optional (null is an error) from nullish (null is unset)', () => {
    expect(problems(c.optional(c.string()), null)).toEqual(['(root): expected string, got null']);
    expect(value(c.nullish(c.string(), 'x'), null)).toBe('x');
    expect(value(c.nullable(c.string()), null)).toBeNull();
  });

  it('anyOf takes the first match and otherwise names every alternative', () => {
    const list = c.anyOf(c.array(c.string()), c.string());
    expect(value(list, ['a'])).toEqual(['a']);
    expect(value(list, 'a')).toBe('a');
    expect(problems(c.object({ p: list }), { p: 5 })).toEqual(['p: expected array or string, got number']);
  });

  it('applies map and preprocess, and a pattern with its own message', () => {
    expect(
      value(
        c.map(c.string(), (s) => s.length),
        'abc',
      ),
    ).toBe(3);
    expect(
      value(
        c.preprocess((v) => (v === '' ? undefined : v), c.optional(c.string(), 'dflt')),
        '',
      ),
    ).toBe('dflt');
    expect(problems(c.string({ pattern: /^[a-z]+$/, patternMessage: 'expected lowercase letters' }), 'A')).toEqual(['(root): expected lowercase letters']);
  });

  it('extend replaces and adds keys; describe keeps the check working', () => {
    const base = c.object({ image: c.optional(c.string()), tag: c.optional(c.string()) });
    const strict = c.describe(c.extend(base, { image: c.string({ min: 1 }) }), 'an image');
    expect(strict.description).toBe('an image');
    expect(Object.keys(strict.shape)).toEqual(['image', 'tag']);
    expect(problems(strict, {})).toEqual(['image: expected string, got nothing']);
    expect(value(strict, { image: 'busybox' })).toEqual({ image: 'busybox' });
  });

  it('prefixes paths when asked', () => {
    const r = c.parse(c.object({ version: c.literal(1) }), { version: 2 });
    expect(r.ok ? [] : c.formatIssues(r.issues, ['state'])).toEqual(['state.version: expected 1, got number']);
  });
});
