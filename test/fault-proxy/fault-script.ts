/**
 * A one-line-per-fault language for the proxy's rules, and the same text back from a rule (the
 * proxy's request log and the fault tables print rules this way).
 *
 *     # fault [options] [counts] [on match]
 *     429 retry-after=1 x3 on create pods
 *     503 x2 on GET path=^/api/v1/namespaces/[^/]+/pods$
 *     reset on list persistentvolumeclaims
 *     reset-after-commit on create secrets
 *     cut-stream after-events=1 on watch pods
 *     cut-stream after-ms=500 mode=close on get pods/log stream=follow
 *     gone on watch pods                 # or: gone as=status
 *     stall after-bytes=64 on get pods/log stream=follow
 *     drop-exec after-ms=300 on exec pods/exec
 *     500 every=2 after=1                # every other request after the first, whatever it is
 *
 * Counts: `xN` or `times=N` (at most N hits), `every=N`, `after=N` (see `FaultRule`). A match is
 * an HTTP method (upper case), a verb (`get list watch create update patch delete
 * deletecollection exec`), a resource (`pods`, `pods/log`), and `key=value` terms: `method`,
 * `verb`, `resource`, `group`, `namespace`, `name`, `stream` (`watch|follow|exec`), `path` (a
 * regular expression, without flags) and `type` (`RequestInfo.type`). A value with spaces is
 * written as a JSON string: `type="get pods/log (follow)"`.
 */
import { ruleProblems, type Fault, type FaultRule, type RequestMatch } from './faults.js';
import { VERBS, type StreamKind, type Verb } from './request-info.js';

/** A script that does not parse: every problem, each with its line. */
export class FaultScriptError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid fault script:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'FaultScriptError';
  }
}

const FAULT_WORDS = ['reset', 'reset-after-commit', 'cut-stream', 'stall', 'gone', 'drop-exec'] as const;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
const STREAMS: readonly StreamKind[] = ['watch', 'follow', 'exec'];
const RESOURCE = /^[a-z0-9][a-z0-9.-]*(\/[a-z0-9-]+)?$/;

interface Token {
  readonly key: string | undefined;
  readonly value: string;
  readonly text: string;
}

/** Splits a line into words and `key=value` terms; `key="…"` values are JSON strings. */
function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  for (const m of line.matchAll(/([a-z][a-z-]*)=("(?:[^"\\]|\\.)*")|\S+/g)) {
    const text = m[0];
    if (m[1] !== undefined && m[2] !== undefined) {
      tokens.push({ key: m[1], value: JSON.parse(m[2]) as string, text });
      continue;
    }
    const eq = text.indexOf('=');
    tokens.push(eq > 0 ? { key: text.slice(0, eq), value: text.slice(eq + 1), text } : { key: undefined, value: text, text });
  }
  return tokens;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function integer(token: Token, problems: string[]): number {
  const n = /^\d+$/.test(token.value) ? Number(token.value) : Number.NaN;
  if (Number.isNaN(n)) problems.push(`${token.text}: expected a whole number`);
  return n;
}

function parseFault(token: Token, problems: string[]): Fault | undefined {
  const word = token.value;
  if (token.key === undefined && /^\d{3}$/.test(word)) return { kind: 'status', status: Number(word) };
  switch (token.key === undefined ? word : '') {
    case 'reset':
      return { kind: 'reset' };
    case 'reset-after-commit':
      return { kind: 'reset', afterCommit: true };
    case 'cut-stream':
      return { kind: 'cutStream' };
    case 'stall':
      return { kind: 'stall' };
    case 'gone':
      return { kind: 'gone' };
    case 'drop-exec':
      return { kind: 'dropExec' };
    default:
      problems.push(`unknown fault ${JSON.stringify(token.text)} (expected an HTTP status such as 429, or ${FAULT_WORDS.join(', ')})`);
      return undefined;
  }
}

/** Applies `key=value` options of the fault itself; returns false when `token` is no such option. */
function faultOption(fault: Mutable<Fault>, token: Token, problems: string[]): boolean {
  const f = fault as Mutable<Fault> & Record<string, unknown>;
  const allowed: Record<Fault['kind'], readonly string[]> = {
    status: ['retry-after'],
    reset: [],
    cutStream: ['after-bytes', 'after-events', 'after-ms', 'mode'],
    stall: ['after-bytes', 'after-events', 'after-ms'],
    gone: ['as'],
    dropExec: ['after-bytes', 'after-ms'],
  };
  const key = token.key;
  if (key === undefined || !['retry-after', 'after-bytes', 'after-events', 'after-ms', 'mode', 'as'].includes(key)) return false;
  if (!allowed[fault.kind].includes(key)) {
    problems.push(`${token.text}: ${describeFault(fault)} takes ${allowed[fault.kind].length ? allowed[fault.kind].join(', ') : 'no options'}`);
    return true;
  }
  if (key === 'mode' || key === 'as') {
    const choices = key === 'mode' ? ['drop', 'reset', 'close'] : ['event', 'status'];
    if (choices.includes(token.value)) f[key] = token.value;
    else problems.push(`${token.text}: expected ${choices.join(' or ')}`);
    return true;
  }
  const field = { 'retry-after': 'retryAfterSeconds', 'after-bytes': 'afterBytes', 'after-events': 'afterEvents', 'after-ms': 'afterMs' }[key];
  if (field) f[field] = integer(token, problems);
  return true;
}

/** Applies a count (`xN`, `times=`, `every=`, `after=`); returns false when `token` is none. */
function countOption(rule: Mutable<Omit<FaultRule, 'fault' | 'match'>>, token: Token, problems: string[]): boolean {
  if (token.key === undefined && /^x\d+$/.test(token.value)) {
    rule.times = Number(token.value.slice(1));
    return true;
  }
  if (token.key === 'times' || token.key === 'every' || token.key === 'after') {
    rule[token.key] = integer(token, problems);
    return true;
  }
  return false;
}

function matchTerm(match: Mutable<RequestMatch>, token: Token, problems: string[]): void {
  const once = (field: keyof RequestMatch, value: RequestMatch[keyof RequestMatch]) => {
    if (match[field] !== undefined) problems.push(`${token.text}: ${field} given twice`);
    (match as Record<string, unknown>)[field] = value;
  };
  const { key, value } = token;
  if (key === undefined) {
    if (METHODS.has(value)) once('method', value);
    else if ((VERBS as readonly string[]).includes(value)) once('verb', value as Verb);
    else if (RESOURCE.test(value)) once('resource', value);
    else problems.push(`${token.text}: expected an HTTP method, a verb, a resource or key=value`);
    return;
  }
  switch (key) {
    case 'method':
      if (METHODS.has(value.toUpperCase())) once('method', value.toUpperCase());
      else problems.push(`${token.text}: unknown HTTP method`);
      return;
    case 'verb':
      if ((VERBS as readonly string[]).includes(value)) once('verb', value as Verb);
      else problems.push(`${token.text}: expected one of ${VERBS.join(', ')}`);
      return;
    case 'stream':
      if ((STREAMS as readonly string[]).includes(value)) once('stream', value as StreamKind);
      else problems.push(`${token.text}: expected one of ${STREAMS.join(', ')}`);
      return;
    case 'path':
      try {
        once('path', new RegExp(value));
      } catch (err) {
        problems.push(`${token.text}: ${(err as Error).message}`);
      }
      return;
    case 'resource':
    case 'group':
    case 'namespace':
    case 'name':
    case 'type':
      once(key, value);
      return;
    default:
      problems.push(`${token.text}: unknown term ${JSON.stringify(key)}`);
  }
}

/** Parses one rule; problems are pushed without the line number. */
export function parseFaultRule(line: string, problems: string[] = []): FaultRule | undefined {
  const tokens = tokenize(line);
  const first = tokens[0];
  if (!first) {
    problems.push('empty rule');
    return undefined;
  }
  const fault = parseFault(first, problems);
  if (!fault) return undefined;
  const counts: Mutable<Omit<FaultRule, 'fault' | 'match'>> = {};
  const match: Mutable<RequestMatch> = {};
  const on = tokens.findIndex((t) => t.key === undefined && t.value === 'on');
  const options = on < 0 ? tokens.slice(1) : tokens.slice(1, on);
  for (const token of options) {
    if (!faultOption(fault, token, problems) && !countOption(counts, token, problems)) {
      problems.push(`${token.text}: unknown option of ${first.text} (a match goes after "on")`);
    }
  }
  if (on >= 0) {
    const terms = tokens.slice(on + 1);
    if (terms.length === 0) problems.push('"on" needs a match after it');
    for (const token of terms) if (!countOption(counts, token, problems)) matchTerm(match, token, problems);
  }
  const rule: FaultRule = { fault, ...counts, ...(Object.keys(match).length ? { match } : {}) };
  problems.push(...ruleProblems(rule));
  return rule;
}

/** Parses a script (one rule a line, `#` comments); throws `FaultScriptError` listing every problem. */
export function parseFaultScript(script: string): FaultRule[] {
  const rules: FaultRule[] = [];
  const problems: string[] = [];
  script.split('\n').forEach((raw, index) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const lineProblems: string[] = [];
    const rule = parseFaultRule(line, lineProblems);
    if (lineProblems.length) problems.push(...lineProblems.map((p) => `line ${index + 1}: ${p}`));
    else if (rule) rules.push(rule);
  });
  if (problems.length) throw new FaultScriptError(problems);
  return rules;
}

const quote = (value: string) => (/^[^\s"]+$/.test(value) ? value : JSON.stringify(value));

/** The fault in script words: `429 retry-after=1`, `cut-stream after-events=1`. */
export function describeFault(fault: Fault): string {
  const opts = (pairs: [string, string | number | undefined][]) =>
    pairs
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => ` ${k}=${String(v)}`)
      .join('');
  switch (fault.kind) {
    case 'status':
      return `${fault.status}${opts([['retry-after', fault.retryAfterSeconds]])}`;
    case 'reset':
      return fault.afterCommit ? 'reset-after-commit' : 'reset';
    case 'cutStream':
      return `cut-stream${opts([
        ['after-bytes', fault.afterBytes],
        ['after-events', fault.afterEvents],
        ['after-ms', fault.afterMs],
        ['mode', fault.mode],
      ])}`;
    case 'stall':
      return `stall${opts([
        ['after-bytes', fault.afterBytes],
        ['after-events', fault.afterEvents],
        ['after-ms', fault.afterMs],
      ])}`;
    case 'gone':
      return `gone${opts([['as', fault.as]])}`;
    case 'dropExec':
      return `drop-exec${opts([
        ['after-bytes', fault.afterBytes],
        ['after-ms', fault.afterMs],
      ])}`;
  }
}

/** The rule in script words; `parseFaultRule` reads it back to an equal rule. */
export function describeRule(rule: FaultRule): string {
  let text = describeFault(rule.fault);
  if (rule.times !== undefined) text += ` x${rule.times}`;
  if (rule.every !== undefined) text += ` every=${rule.every}`;
  if (rule.after !== undefined) text += ` after=${rule.after}`;
  const m = rule.match;
  if (!m) return text;
  const terms: string[] = [];
  if (m.method !== undefined) terms.push(m.method.toUpperCase());
  if (m.verb !== undefined) terms.push(m.verb);
  if (m.resource !== undefined) terms.push(RESOURCE.test(m.resource) ? m.resource : `resource=${quote(m.resource)}`);
  if (m.group !== undefined) terms.push(`group=${quote(m.group)}`);
  if (m.namespace !== undefined) terms.push(`namespace=${quote(m.namespace)}`);
  if (m.name !== undefined) terms.push(`name=${quote(m.name)}`);
  if (m.stream !== undefined) terms.push(`stream=${m.stream}`);
  // RegExp#source escapes every `/`; the constructor needs none.
  if (m.path !== undefined) terms.push(`path=${quote(m.path.source.replace(/\\\//g, '/'))}`);
  if (m.type !== undefined) terms.push(`type=${quote(m.type)}`);
  return terms.length ? `${text} on ${terms.join(' ')}` : text;
}
