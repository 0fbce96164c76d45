// A stand-in for jsr:@std/assert when the JSDoc examples are checked offline (JSR is not
// reachable from CI here). Same names and semantics for what the examples use.
import { deepStrictEqual, ok } from "node:assert";

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

export function assert(condition: unknown, message?: string): asserts condition {
  ok(condition, message);
}

export function assertThrows(
  fn: () => unknown,
  ErrorClass?: abstract new (...args: never[]) => Error,
  msgIncludes?: string,
): Error {
  try {
    fn();
  } catch (error) {
    if (ErrorClass && !(error instanceof ErrorClass)) throw new Error(`Expected ${ErrorClass.name}, got ${String(error)}`);
    if (msgIncludes && !String((error as Error).message).includes(msgIncludes)) throw new Error(`Message lacks ${msgIncludes}`);
    return error as Error;
  }
  throw new Error("Expected the function to throw");
}

export async function assertRejects(
  fn: () => PromiseLike<unknown>,
  ErrorClass?: abstract new (...args: never[]) => Error,
  msgIncludes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    if (ErrorClass && !(error instanceof ErrorClass)) throw new Error(`Expected ${ErrorClass.name}, got ${String(error)}`);
    if (msgIncludes && !String((error as Error).message).includes(msgIncludes)) throw new Error(`Message lacks ${msgIncludes}`);
    return error as Error;
  }
  throw new Error("Expected the promise to reject");
}

export function assertInstanceOf<T extends abstract new (...args: never[]) => unknown>(
  actual: unknown,
  expectedType: T,
): asserts actual is InstanceType<T> {
  ok(actual instanceof expectedType, `Expected an instance of ${expectedType.name}`);
}

export function assertStringIncludes(actual: string, expected: string): void {
  ok(actual.includes(expected), `Expected ${JSON.stringify(actual)} to include ${JSON.stringify(expected)}`);
}
