// The snapshot's reads as `COPY (SELECT …) TO STDOUT` in the text format, through pg's Client as a custom
// query (the way pg-cursor plugs in). Compared with a cursor FETCHed chunk by chunk: Postgres streams rows
// without a round trip per chunk, and each row is parsed here in one pass (one UTF-8 decode and one split)
// instead of pg's per-field row messages.
//
// Wire grammar (text format, one CopyData message per row): the columns' output text separated by tabs,
// ended by a newline; NULL is `\N`; a backslash, tab, newline, carriage return, backspace, form feed or
// vertical tab inside a value is written as `\\`, `\t`, `\n`, `\r`, `\b`, `\f`, `\v`. Unescaped, a value is
// exactly the text a SELECT returns on the same session settings, so the same converters (pg-types.ts) apply.
//
// Flow control: rows gather into chunks of `chunkRows`; while one full chunk waits unread the socket is
// paused (TCP backpressure then holds Postgres), and resumed when the chunk is taken. Memory is one chunk
// waiting plus one filling plus the socket's buffers.
import type pg from "pg";

export type Chunk = (string | null)[][];

const TAB = "\t";
const BACKSLASH = 92;

/** One row of COPY text output (its newline included or not) → the columns' text, NULL as null. */
export function parseCopyTextRow(data: Buffer, columns: number): (string | null)[] {
  let end = data.length;
  if (end > 0 && data[end - 1] === 0x0a) end--;
  if (columns === 0) return [];
  const line = data.toString("utf8", 0, end);
  const fields: (string | null)[] = line.split(TAB);
  if (fields.length !== columns)
    throw new Error(`COPY row has ${fields.length} columns, expected ${columns}`);
  // Without a backslash the line holds neither NULL (`\N`) nor an escape: the split is the answer.
  if (line.indexOf("\\") >= 0)
    for (let i = 0; i < fields.length; i++) fields[i] = unescapeField(fields[i] as string);
  return fields;
}

function unescapeField(field: string): string | null {
  if (field === "\\N") return null;
  if (field.indexOf("\\") < 0) return field;
  let out = "";
  let from = 0;
  for (let i = 0; i < field.length; i++) {
    if (field.charCodeAt(i) !== BACKSLASH) continue;
    out += field.slice(from, i);
    const next = field[i + 1] ?? "";
    out += ESCAPES[next] ?? next;
    i++;
    from = i + 1;
  }
  return out + field.slice(from);
}

const ESCAPES: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };

/** What pg's Connection offers a custom query (not in @types/pg). */
interface PgConnection {
  query(text: string): void;
  sendCopyFail(message: string): void;
  stream: { pause(): void; resume(): void };
}

/**
 * One `COPY … TO STDOUT` on one client, read chunk by chunk with `next()`. Submit it with
 * `client.query(copy)`; the client runs nothing else until it ended (or was closed).
 */
export class CopyOut {
  readonly text: string;
  readonly #columns: number;
  readonly #chunkRows: number;
  #rows: Chunk = [];
  #ready: Chunk[] = [];
  #connection: PgConnection | null = null;
  #paused = false;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  constructor(text: string, columns: number, chunkRows: number) {
    this.text = text;
    this.#columns = columns;
    this.#chunkRows = Math.max(1, chunkRows);
  }

  /** Whether the server finished the COPY (or the query failed): the client is free again. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The next chunk (at most `chunkRows` rows), or null once every row was handed out. */
  async next(): Promise<Chunk | null> {
    for (;;) {
      if (this.#error) throw this.#error;
      const chunk = this.#ready.shift();
      if (chunk) {
        if (this.#paused) {
          this.#paused = false;
          this.#connection?.stream.resume();
        }
        return chunk;
      }
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  // ---- pg's custom-query interface (called by pg.Client) ----

  submit(connection: PgConnection): void {
    this.#connection = connection;
    connection.query(this.text);
  }

  handleCopyData(msg: { chunk: Buffer }): void {
    if (this.#error) return;
    try {
      this.#rows.push(parseCopyTextRow(msg.chunk, this.#columns));
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    if (this.#rows.length < this.#chunkRows) return;
    this.#ready.push(this.#rows);
    this.#rows = [];
    if (!this.#paused) {
      this.#paused = true;
      this.#connection?.stream.pause();
    }
    this.#wakeUp();
  }

  handleCommandComplete(): void {
    if (this.#rows.length > 0) this.#ready.push(this.#rows);
    this.#rows = [];
  }

  handleReadyForQuery(): void {
    this.#ended = true;
    this.#wakeUp();
  }

  handleError(err: Error): void {
    // The server's error (it then sends ReadyForQuery, which goes to no query) or the connection's end.
    this.#ended = true;
    this.#fail(err);
  }

  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail("not a COPY FROM");
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}

  /** Rows still coming after a failure are dropped (the socket flows again so the COPY can finish). */
  #fail(err: Error): void {
    this.#error ??= err;
    if (this.#paused) {
      this.#paused = false;
      this.#connection?.stream.resume();
    }
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

/**
 * Runs `copy` on `client` and yields its chunks. Left early (an abort, a failure elsewhere) while the COPY
 * still streams, the client is ended: a COPY cannot be stopped otherwise, and the snapshot is over anyway.
 */
export async function* copyChunks(client: pg.Client, copy: CopyOut): AsyncGenerator<Chunk> {
  void client.query(copy as unknown as pg.QueryConfig);
  try {
    for (;;) {
      const chunk = await copy.next();
      if (!chunk) return;
      yield chunk;
    }
  } finally {
    if (!copy.ended) await client.end().catch(() => undefined);
  }
}
