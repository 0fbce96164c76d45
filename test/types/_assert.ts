// Type-level assertions for the tsc-only type tests in this folder (compiled by `tsc -p
// tsconfig.json` in npm test; vitest does not run them: they have no .test.ts name).

/** True when A and B are the same type (not merely assignable either way). */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only when `T` is `true`. */
export function assertType<T extends true>(): T | undefined {
  return undefined;
}
