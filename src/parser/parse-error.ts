/**
 * `ParseError`: what the event-stream parser reports when it has to drop input.
 *
 * @module
 */

import { brand, hasBrand } from "../_internal/brand.ts";

/** The kinds of {@linkcode ParseError}. */
export type ParseErrorKind = "max-event-size-exceeded";

/** @deprecated Use {@linkcode ParseErrorKind}. */
export type ParseErrorType = ParseErrorKind;

/** Options for {@linkcode ParseError}. */
export interface ParseErrorOptions extends ErrorOptions {
  /** What went wrong. */
  kind?: ParseErrorKind;
  /** @deprecated Use `kind`. */
  type?: ParseErrorKind;
}

/**
 * An error the parser reports through its `onError` callback (or that an
 * {@linkcode EventStreamParserStream} errors with). The parser has already recovered when it is
 * reported: for `"max-event-size-exceeded"`, the oversized event was dropped and parsing resumes
 * after the blank line that ends it.
 *
 * @example Telling it apart
 * ```ts
 * import { createParser, ParseError } from "@hertz/sse/parser";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const errors: ParseError[] = [];
 * const parser = createParser({ maxEventSize: 4, onError: (error) => errors.push(error) });
 * parser.feed("data: too long\n\n");
 * assertEquals(ParseError.is(errors[0]), true);
 * assertEquals(errors[0]?.kind, "max-event-size-exceeded");
 * ```
 */
export class ParseError extends Error {
  /** What went wrong; stable, unlike the message (the one discriminant name of every error here). */
  readonly kind: ParseErrorKind;
  /** Creates the error; `options.kind` says what went wrong. */
  constructor(message: string, options: ParseErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ParseError";
    this.kind = options.kind ?? options.type ?? "max-event-size-exceeded";
    brand(this, "ParseError");
  }

  /** @deprecated Use `kind`. */
  get type(): ParseErrorKind {
    return this.kind;
  }

  /**
   * Whether `value` is a `ParseError`, even one made by another copy of this package (where
   * `instanceof` says no).
   *
   * @example Usage
   * ```ts
   * import { ParseError } from "@hertz/sse/parser";
   * import { assertEquals } from "jsr:@std/assert";
   *
   * assertEquals(ParseError.is(new ParseError("x", { kind: "max-event-size-exceeded" })), true);
   * assertEquals(ParseError.is(new Error("x")), false);
   * ```
   */
  static is(value: unknown): value is ParseError {
    return hasBrand(value, "ParseError");
  }
}
