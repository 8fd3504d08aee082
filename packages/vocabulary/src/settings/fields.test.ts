import { describe, expect, it } from 'vitest';
import * as c from '../check.js';
import { BOOLEAN_EXPECTED, booleanField, choiceField, defaultedSetting, durationField, optionalSetting, wholeNumberField } from './fields.js';

/** The value `check` makes of the variable VAR, or its problems. */
const read = <T>(check: c.Check<T>, value: unknown): T | string[] => {
  const issues: c.Issue[] = [];
  const out = check.run(value, ['VAR'], issues);
  return out === c.INVALID ? c.formatIssues(issues) : out;
};

describe('booleanField', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['True', true],
    ['1', true],
    ['yes', true],
    ['Yes', true],
    ['on', true],
    ['ON', true],
    [' on ', true],
    ['false', false],
    ['FALSE', false],
    ['0', false],
    ['no', false],
    ['NO', false],
    ['off', false],
    ['Off', false],
  ])('reads %j as %s', (text, value) => {
    expect(read(booleanField, text)).toBe(value);
  });

  it.each(['maybe', 'y', 'n', 't', '2', '-1', 'enabled', 'true false'])('refuses %j', (text) => {
    expect(read(booleanField, text)).toEqual([`VAR: ${BOOLEAN_EXPECTED}`]);
  });
});

describe('wholeNumberField', () => {
  it.each([
    ['0', 0],
    ['42', 42],
    [' 7 ', 7],
    ['007', 7],
  ])('reads %j as %i', (text, value) => {
    expect(read(wholeNumberField(), text)).toBe(value);
  });

  it.each(['-1', '1.5', '1e3', 'ten', '0x10', '99999999999999999999'])('refuses %j', (text) => {
    expect(read(wholeNumberField(), text)).toEqual(['VAR: expected a whole number (0 or more)']);
    expect(read(wholeNumberField('seconds'), text)).toEqual(['VAR: expected a whole number of seconds (0 or more)']);
  });
});

describe('durationField', () => {
  it.each([
    ['90s', 90],
    ['30m', 1800],
    [' 24h ', 86_400],
    ['1h30m', 5400],
  ])('reads %j as %i seconds', (text, value) => {
    expect(read(durationField, text)).toBe(value);
  });

  it.each(['24', '1w', '-1h', 'soon'])('refuses %j', (text) => {
    expect(read(durationField, text)).toEqual(['VAR: expected a duration such as 90s, 30m, 24h, 7d or 1h30m']);
  });
});

describe('settings', () => {
  it('takes a blank value as unset: the default, or undefined', () => {
    const timeout = defaultedSetting(wholeNumberField('seconds'), '600', { description: 'd', syntax: 'seconds' });
    expect(read(timeout, undefined)).toBe(600);
    expect(read(timeout, '  ')).toBe(600);
    expect(read(timeout, '5')).toBe(5);
    expect(read(optionalSetting(booleanField, { description: 'd', syntax: 'true|false' }), '')).toBeUndefined();
    expect(timeout.doc).toEqual({ description: 'd', syntax: 'seconds', defaultText: '600' });
  });

  it('names the choices when a value is not one of them', () => {
    expect(read(choiceField(['auto', 'copy']), 'Copy')).toEqual(['VAR: expected one of "auto", "copy"']);
    expect(read(choiceField(['auto', 'copy']), 'copy')).toBe('copy');
  });
});
