/**
 * The one hint convention of the project's error classes (`KubeError`, `ZfsCloneError`,
 * `HookError`): a constructor takes `{ cause, hint }`, keeps `hint` as a field of its own, and its
 * `message` says what failed followed by the hint, joined by `withHint`. Whoever prints an error
 * prints its `message` and so shows the hint once.
 */
export interface HintedErrorOptions {
  /** The error that caused this one. */
  readonly cause?: unknown;
  /** What the user can do about it: a sentence printed after the message. */
  readonly hint?: string | undefined;
}

/** `message`, then `hint` as the next sentence (with a full stop between them when `message` has none). */
export function withHint(message: string, hint: string | undefined): string {
  if (!hint) return message;
  return /[.!?]$/.test(message) ? `${message} ${hint}` : `${message}. ${hint}`;
}

/**
 * An error's message apart from its hint (and the full stop before it), for a display that puts
 * the hint elsewhere (its own line) or a message that grows (how many attempts were made).
 */
export function splitHint(err: Error & { readonly hint?: string | undefined }): { readonly message: string; readonly hint: string | undefined } {
  const { message, hint } = err;
  if (!hint || !message.endsWith(hint)) return { message, hint: undefined };
  const head = message.slice(0, message.length - hint.length).trimEnd();
  return { message: head.endsWith('.') ? head.slice(0, -1) : head, hint };
}
