/**
 * Error brands: a registered symbol set on an error instance, so that two copies of this package
 * (an ESM and a CJS one, say) still recognise each other's errors where `instanceof` cannot.
 *
 * @module
 */

/** Marks `error` as a `hertz-sse.<name>` error. */
export function brand(error: Error, name: string): void {
  Object.defineProperty(error, Symbol.for(`hertz-sse.${name}`), { value: true });
}

/** Whether `value` was marked by {@linkcode brand} with `name`. */
export function hasBrand(value: unknown, name: string): boolean {
  return (
    typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[Symbol.for(`hertz-sse.${name}`)] === true
  );
}
