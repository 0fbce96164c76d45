// A reference event-stream parser written straight from the WHATWG text ("parse an event stream"
// and "interpret an event stream"), one character at a time, for the tests of the encoder and the
// servers. It favours being obviously right over being fast.

export interface ParsedMessage {
  type: string;
  data: string;
  lastEventId: string;
}

export interface ParseResult {
  messages: ParsedMessage[];
  comments: string[];
  retries: number[];
  lastEventId: string;
}

export function parseEventStream(text: string, initialLastEventId = ""): ParseResult {
  // [spec] One leading U+FEFF BOM is ignored.
  const input = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const result: ParseResult = { messages: [], comments: [], retries: [], lastEventId: initialLastEventId };
  let data = "";
  let eventType = "";
  let lastEventId = initialLastEventId;
  let line = "";
  let i = 0;
  const processLine = (l: string) => {
    if (l === "") {
      // [spec] Dispatch: set the last event ID; if data is empty, reset and return.
      result.lastEventId = lastEventId;
      if (data === "") {
        eventType = "";
        return;
      }
      if (data.endsWith("\n")) data = data.slice(0, -1);
      result.messages.push({ type: eventType === "" ? "message" : eventType, data, lastEventId });
      data = "";
      eventType = "";
      return;
    }
    if (l.startsWith(":")) {
      result.comments.push(l.slice(1).startsWith(" ") ? l.slice(2) : l.slice(1));
      return;
    }
    const colon = l.indexOf(":");
    let field: string;
    let value: string;
    if (colon === -1) {
      field = l;
      value = "";
    } else {
      field = l.slice(0, colon);
      value = l.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
    }
    if (field === "event") eventType = value;
    else if (field === "data") data += `${value}\n`;
    else if (field === "id") {
      if (!value.includes("\0")) lastEventId = value;
    } else if (field === "retry") {
      if (/^[0-9]+$/.test(value)) result.retries.push(Number(value));
    }
  };
  while (i < input.length) {
    const ch = input[i]!;
    if (ch === "\r") {
      processLine(line);
      line = "";
      if (input[i + 1] === "\n") i++;
    } else if (ch === "\n") {
      processLine(line);
      line = "";
    } else {
      line += ch;
    }
    i++;
  }
  // [spec] Once the end of the file is reached, any pending data is discarded.
  return result;
}

/** Reads an event-stream body incrementally, yielding each message as soon as its block ends. */
export async function* readMessages(
  body: ReadableStream<Uint8Array>,
  onComment?: (comment: string) => void,
): AsyncGenerator<ParsedMessage> {
  const reader = body.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>).getReader();
  let buffer = "";
  let lastEventId = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      // Split off whole blocks (terminated by a blank line) and parse each.
      let end: number;
      while ((end = blockEnd(buffer)) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end);
        const parsed = parseEventStream(block, lastEventId);
        lastEventId = parsed.lastEventId;
        for (const c of parsed.comments) onComment?.(c);
        yield* parsed.messages;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

// The servers under test write LF line ends only, so a block ends at the first blank line.
function blockEnd(text: string): number {
  const at = text.indexOf("\n\n");
  return at === -1 ? -1 : at + 2;
}
