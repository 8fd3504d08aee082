/**
 * The proxy's active fault rules and their counters: which rule, if any, hits a request.
 */
import { describeRule, parseFaultScript } from './fault-script.js';
import { matches, ruleProblems, type FaultRule } from './faults.js';
import type { RequestInfo } from './request-info.js';

/** A rule while it is active: how many requests it selected and hit so far. */
export interface ActiveFault {
  readonly rule: FaultRule;
  /** The rule in script words. */
  readonly text: string;
  /** Requests the rule's match selected. */
  readonly seen: number;
  /** Requests it hit. */
  readonly hits: number;
  /** Takes the rule out; requests already hit keep their fault. */
  remove(): void;
}

class Entry implements ActiveFault {
  seen = 0;
  hits = 0;
  readonly text: string;
  constructor(
    readonly rule: FaultRule,
    private readonly owner: RuleSet,
  ) {
    this.text = describeRule(rule);
  }
  remove(): void {
    this.owner.remove(this);
  }
  /** Counts `info` if the rule selects it; true when this request is one the rule hits. */
  count(info: RequestInfo): boolean {
    if (!matches(this.rule, info)) return false;
    this.seen++;
    const { times = Infinity, every = 1, after = 0 } = this.rule;
    const due = this.seen > after && (this.seen - after - 1) % every === 0 && this.hits < times;
    return due;
  }
}

/**
 * Rules in the order they were added. Every rule counts the requests it selects; the first rule
 * due for a request hits it.
 */
export class RuleSet {
  private entries: Entry[] = [];

  /** Adds rules (objects or a script); returns them in order. */
  add(rules: FaultRule | readonly FaultRule[] | string): ActiveFault[] {
    const list = typeof rules === 'string' ? parseFaultScript(rules) : Array.isArray(rules) ? (rules as readonly FaultRule[]) : [rules as FaultRule];
    const problems = list.flatMap((rule) => ruleProblems(rule).map((p) => `${describeRule(rule)}: ${p}`));
    if (problems.length) throw new Error(`invalid fault rule:\n  ${problems.join('\n  ')}`);
    const added = list.map((rule) => new Entry(rule, this));
    this.entries.push(...added);
    return added;
  }

  remove(entry: ActiveFault): void {
    this.entries = this.entries.filter((e) => e !== entry);
  }

  clear(): void {
    this.entries = [];
  }

  get active(): readonly ActiveFault[] {
    return [...this.entries];
  }

  /** The rule that hits this request (its hit counted), or undefined to forward it untouched. */
  pick(info: RequestInfo): ActiveFault | undefined {
    let chosen: Entry | undefined;
    for (const entry of this.entries) {
      if (entry.count(info) && !chosen) chosen = entry;
    }
    if (chosen) chosen.hits++;
    return chosen;
  }
}
