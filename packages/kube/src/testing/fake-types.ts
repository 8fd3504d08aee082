import type { Query } from '../types.js';
import type { FakeKubeClient } from './fake-client.js';
import type { ApiFault } from './faults.js';

/** A stored object: anything with (optional) metadata. */
export type FakeObject = {
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
};

/** Plays a controller: called with a copy of every object written (not deleted); may write objects itself. */
export type Reactor = (plural: string, object: FakeObject, fake: FakeKubeClient) => void;

/** The client methods, as calls are recorded and faults are aimed. */
export type FakeVerb = 'get' | 'list' | 'create' | 'replace' | 'patch' | 'delete' | 'watch' | 'exec' | 'logs';

/** One call the code under test made, in order. */
export interface FakeCall {
  readonly verb: FakeVerb;
  /** The resource (`pods` for exec and logs). */
  readonly plural: string;
  readonly namespace: string | undefined;
  /** The object's name (a create's as stored, `generateName` resolved); undefined for a collection. */
  name: string | undefined;
  /** create/replace: the object as sent; patch: the patch. */
  readonly body?: unknown;
  readonly query?: Query | undefined;
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  /** watch: the version it started from. */
  readonly resourceVersion?: string | undefined;
  /** exec and logs. */
  readonly container?: string | undefined;
  readonly command?: readonly string[];
  /** exec: everything sent on stdin. */
  stdin?: Buffer;
  /** Set when the call rejected. */
  error?: unknown;
}

/** A fault aimed at the next calls of one verb on one resource. */
export interface Fault {
  readonly verb: FakeVerb;
  readonly plural: string;
  readonly name: string | undefined;
  readonly error: ApiFault | Error;
  /** The write happens, then the call rejects (its answer was lost). */
  readonly after: boolean;
  times: number;
}

/** Options of `failNext`. */
export interface FaultOptions {
  /** Only calls on this object. */
  readonly name?: string;
  /** How many calls fail. @default 1 */
  readonly times?: number;
  /** create/replace/patch/delete: the write is done, then the call rejects (an answer that was lost). */
  readonly after?: boolean;
}
