/**
 * Counts a response body's bytes and lines against a stream fault's threshold, and says how much
 * of each chunk may still pass.
 */
import type { StreamThreshold } from './faults.js';

const NEWLINE = 0x0a;

export class ThresholdGate {
  private bytes = 0;
  private events = 0;

  constructor(private readonly threshold: Pick<StreamThreshold, 'afterBytes' | 'afterEvents'>) {}

  /** The threshold is zero bytes or zero events: nothing passes at all. */
  get reachedAtStart(): boolean {
    return this.threshold.afterBytes === 0 || this.threshold.afterEvents === 0;
  }

  /** The part of `chunk` that may pass, and whether the threshold is reached with it. */
  take(chunk: Buffer): { readonly pass: Buffer; readonly reached: boolean } {
    let end = chunk.length;
    let reached = false;
    const { afterBytes, afterEvents } = this.threshold;
    if (afterBytes !== undefined && this.bytes + chunk.length >= afterBytes) {
      end = Math.max(0, afterBytes - this.bytes);
      reached = true;
    }
    if (afterEvents !== undefined) {
      let events = this.events;
      for (let i = 0; i < end; i++) {
        if (chunk[i] !== NEWLINE) continue;
        events++;
        if (events >= afterEvents) {
          end = i + 1;
          reached = true;
          break;
        }
      }
      this.events = events;
    }
    this.bytes += end;
    return { pass: chunk.subarray(0, end), reached };
  }
}
