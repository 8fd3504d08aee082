import { z } from 'zod';
import { parseDuration } from './duration.js';
import { splitList } from './glob.js';
import { parseSource, type CloneSource } from './source.js';

/**
 * Field schemas shared by the workflow and runner settings. Every value arrives as an environment
 * string; metadata `syntax` feeds the generated configuration reference.
 */

/** A source (`<cache>`, `cache:<cache>`, `snapshot:<name>`) or `none`. */
export const sourceField = z.string().transform((text, ctx): CloneSource | 'none' => {
  if (text.trim() === 'none') return 'none';
  const parsed = parseSource(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

export const objectNameField = z
  .string()
  .regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, 'expected a Kubernetes object name (lower-case, digits, "-", ".")');

export const absolutePathField = z
  .string()
  .regex(/^\/[^\0]*$/, 'expected an absolute path')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."')
  .refine((p) => p !== '/', 'must not be "/"');

export const identifierField = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

export const booleanField = z.stringbool({
  truthy: ['true', '1', 'yes', 'on'],
  falsy: ['false', '0', 'no', 'off'],
});

/** A duration (`24h`, `90m`, `7d`) in seconds. */
export const durationField = z.string().transform((text, ctx) => {
  const seconds = parseDuration(text);
  if (seconds === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration; write e.g. 30m, 24h or 7d` });
    return z.NEVER;
  }
  return seconds;
});

/** `false`/`0` (off), `true` (the runner's default time to keep) or a duration. */
export const keepField = z.string().transform((text, ctx): number | 'default' => {
  const value = text.trim().toLowerCase();
  if (['false', '0', 'no', 'off'].includes(value)) return 0;
  if (['true', '1', 'yes', 'on'].includes(value)) return 'default';
  const seconds = parseDuration(value);
  if (seconds === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is neither true/false nor a duration such as 24h` });
    return z.NEVER;
  }
  return seconds;
});

/** A comma-separated list of glob patterns. */
export const globListField = z.string().transform((text) => splitList(text));

/** A non-negative integer. */
export const countField = z
  .string()
  .regex(/^\d+$/, 'expected a whole number')
  .transform((text) => Number(text));
