// What a parse corpus is, and the accounting every generator keeps while it writes one, so that
// the benchmark can check each parser's output against what was written (not against another
// parser).

/** A corpus: UTF-8 event-stream bytes and what a conformant parser must get out of them. */
export interface Corpus {
  name: string;
  bytes: Uint8Array;
  /** Dispatched events (blocks with data). */
  events: number;
  /** Blocks ended by a blank line, including ones without data: what the raw floor counts. */
  blocks: number;
  /** The sum of the lengths (UTF-16 code units) of every event's data. */
  dataLength: number;
  /** The sum of the lengths of every event's type ("message" when it has none). */
  typeLength: number;
  /** The last event id committed at the end of the stream. */
  lastId: string;
}

/** Builds a corpus block by block; `add` takes the block's wire text and what it dispatches. */
export class CorpusWriter {
  readonly #parts: string[] = [];
  #length = 0;
  #events = 0;
  #blocks = 0;
  #dataLength = 0;
  #typeLength = 0;
  #lastId = "";

  /** Characters written so far (about the byte size for mostly-ASCII corpora). */
  get length(): number {
    return this.#length;
  }

  /**
   * Adds one block (ending with its blank line). `data` is what it dispatches (undefined for
   * none), `type` its event type, `id` the id it sets (undefined to keep the previous one).
   */
  add(block: string, data: string | undefined, type = "message", id?: string): void {
    this.#parts.push(block);
    this.#length += block.length;
    this.#blocks++;
    if (id !== undefined) this.#lastId = id;
    if (data !== undefined) {
      this.#events++;
      this.#dataLength += data.length;
      this.#typeLength += type.length;
    }
  }

  finish(name: string): Corpus {
    return {
      name,
      bytes: new TextEncoder().encode(this.#parts.join("")),
      events: this.#events,
      blocks: this.#blocks,
      dataLength: this.#dataLength,
      typeLength: this.#typeLength,
      lastId: this.#lastId,
    };
  }
}
