import type { HookInput, PrepareJobArgs } from './stdin.js';

/** A response file, read like the runner reads it. */
export interface ParsedResponse {
  /** The parsed object, or null when the file was empty or missing (the runner's "no response"). */
  readonly response: Record<string, unknown> | null;
  /** Why the runner would reject the response (it then fails the step); empty when it is fine. */
  readonly problems: readonly string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a response file's text and checks it the way the runner uses it: prepare_job needs a
 * response with `isAlpine` when a job container was requested, and `context.services` (when a
 * context is given) must be an array with one entry per requested service, each with an object
 * `ports`; `state`, when present, must be an object.
 */
export function parseResponse(input: HookInput, text: string | null): ParsedResponse {
  const problems: string[] = [];
  if (text === null || text.trim() === '') {
    if (input.command === 'prepare_job') problems.push('prepare_job wrote no response');
    return { response: null, problems };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { response: null, problems: [`response is not JSON: ${(error as Error).message}`] };
  }
  if (!isObject(parsed)) return { response: null, problems: ['response is not a JSON object'] };
  if ('state' in parsed && parsed['state'] !== null && !isObject(parsed['state'])) {
    problems.push('state: expected an object');
  }
  if (input.command === 'prepare_job') problems.push(...prepareJobProblems(input.args as PrepareJobArgs, parsed));
  return { response: parsed, problems };
}

function prepareJobProblems(args: PrepareJobArgs, response: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (args.container && typeof response['isAlpine'] !== 'boolean') {
    problems.push('isAlpine: required (boolean) when a job container is requested');
  }
  const context = response['context'];
  if (context === undefined || context === null) return problems;
  if (!isObject(context)) return [...problems, 'context: expected an object'];
  const container = context['container'];
  if (container !== undefined && container !== null) {
    if (!isObject(container)) problems.push('context.container: expected an object');
    else if (typeof container['id'] !== 'string') problems.push('context.container.id: expected a string');
  }
  const services = context['services'];
  if (!Array.isArray(services)) {
    problems.push('context.services: expected an array (in request order)');
    return problems;
  }
  if (services.length !== args.services.length) {
    problems.push(`context.services: ${args.services.length} services requested, ${services.length} returned`);
  }
  services.forEach((service: unknown, i) => {
    if (!isObject(service)) {
      problems.push(`context.services[${i}]: expected an object`);
      return;
    }
    if (typeof service['id'] !== 'string') problems.push(`context.services[${i}].id: expected a string`);
    const ports = service['ports'];
    if (!isObject(ports)) problems.push(`context.services[${i}].ports: expected an object (not null)`);
    else {
      for (const [key, value] of Object.entries(ports)) {
        if (typeof value !== 'string') problems.push(`context.services[${i}].ports.${key}: expected a string`);
      }
    }
  });
  return problems;
}

/**
 * The state the runner passes to the next command: the response's `state` object when it has
 * one, else the previous state (a response without `state` leaves it unchanged).
 */
export function nextState(previous: unknown, response: Record<string, unknown> | null): unknown {
  const state = response?.['state'];
  return isObject(state) ? state : previous;
}
