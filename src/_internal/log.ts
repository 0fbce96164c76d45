/**
 * The one place where the library writes to the console: the default of every `onError` option.
 *
 * @module
 */

/** Reports an error nobody asked to hear about, prefixed with what failed. */
export function logError(context: string, error: unknown): void {
  console.error(`hertz-sse: ${context}:`, error);
}

/** Runs a user callback that must not break the caller: an exception goes to `onError`, and an
 * exception from `onError` itself is logged. */
export function guard(onError: (error: unknown) => void, callback: () => unknown): void {
  try {
    const result = callback();
    if (isPromiseLike(result)) result.then(undefined, (error) => report(onError, error));
  } catch (error) {
    report(onError, error);
  }
}

/** Calls `onError`, which is user code too: what it throws is logged, never rethrown. */
export function report(onError: (error: unknown) => void, error: unknown): void {
  try {
    onError(error);
  } catch (failure) {
    logError("onError threw", failure);
  }
}

/** Whether a value is a promise or another thenable. */
export function isPromiseLike<T = unknown>(value: unknown): value is PromiseLike<T> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
