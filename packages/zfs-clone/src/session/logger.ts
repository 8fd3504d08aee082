/**
 * Where the library reports progress. The hook passes its own logger (`packages/k8s-hook/src/log.ts`),
 * which writes the runner's workflow commands itself, without `@actions/core` (ADR 0008).
 */
export interface CacheLogger {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
  /** Runs `fn` inside a collapsible log group. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** A logger that drops everything (tests, scripts). */
export const silentLogger: CacheLogger = {
  info: () => undefined,
  warning: () => undefined,
  debug: () => undefined,
  group: (_name, fn) => fn(),
};
