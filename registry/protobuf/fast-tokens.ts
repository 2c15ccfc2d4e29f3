// The fast .proto reader's tokens (fast-parse.ts): comments and whitespace dropped, quoted strings marked,
// and the reads every statement is made of (names, type references, tags, constants, `name = constant`
// options). Anything it doubts throws DECLINE, and the whole text goes to protobufjs. Pure.

export const NAME = /^[a-zA-Z_][a-zA-Z_0-9]*$/;
export const TYPE_REF = /^\.?[a-zA-Z_][a-zA-Z_0-9]*(?:\.[a-zA-Z_][a-zA-Z_0-9]*)*$/;
const INT = /^(?:0|[1-9][0-9]*)$/;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
export const MAX_TAG = 536870911;
/** Thrown inside the reader to give up (one instance: no stack per decline); the text goes to protobufjs. */
export const DECLINE = new Error("outside the fast reader's subset");

type Constant = string | number | boolean;
export type Raw = Record<string, Constant>;

export class Tokens {
  readonly list: string[] = [];
  /** Whether each token was a quoted string (its quotes removed). */
  readonly quoted: boolean[] = [];
  i = 0;

  constructor(src: string) {
    const re =
      /\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/|"([^"\\\n]*)"|'([^'\\\n]*)'|([A-Za-z0-9_.+-]+)|([{}[\]()<>=;,])/y;
    while (re.lastIndex < src.length) {
      const at = re.lastIndex;
      const m = re.exec(src);
      if (!m || m.index !== at) throw DECLINE;
      if (m[1] !== undefined || m[2] !== undefined) {
        this.list.push(m[1] ?? m[2] ?? "");
        this.quoted.push(true);
      } else if (m[3] !== undefined || m[4] !== undefined) {
        this.list.push(m[3] ?? m[4] ?? "");
        this.quoted.push(false);
      }
    }
  }

  get done(): boolean {
    return this.i >= this.list.length;
  }
  peek(): string | undefined {
    return this.quoted[this.i] ? undefined : this.list[this.i];
  }
  next(): string {
    if (this.done || this.quoted[this.i]) throw DECLINE;
    return this.list[this.i++]!;
  }
  string(): string {
    if (!this.quoted[this.i]) throw DECLINE;
    return this.list[this.i++]!;
  }
  skip(token: string): boolean {
    if (this.peek() !== token) return false;
    this.i++;
    return true;
  }
  /** After a block's `}`: protobufjs takes one optional `;` there (and a stray one nowhere else). */
  endBlock(): void {
    this.skip(";");
  }
  expect(token: string): void {
    if (this.next() !== token) throw DECLINE;
  }
  name(): string {
    const n = this.next();
    if (!NAME.test(n)) throw DECLINE;
    return n;
  }
  typeRef(): string {
    const t = this.next();
    if (!TYPE_REF.test(t)) throw DECLINE;
    return t;
  }
  tag(): number {
    const t = this.next();
    if (!INT.test(t)) throw DECLINE;
    const n = Number(t);
    if (n < 1 || n > MAX_TAG) throw DECLINE;
    return n;
  }
  /** A constant as protobufjs keeps it: true/false as booleans, numbers, identifiers and strings as text. */
  constant(): Constant {
    if (this.quoted[this.i]) {
      const s = this.string();
      if (this.quoted[this.i]) throw DECLINE; // adjacent strings concatenate: protobufjs' to read
      return s;
    }
    const t = this.next();
    // protobufjs' readValue: true/TRUE and false/FALSE are booleans; inf and nan in any of its spellings, and
    // "-0" (its parseNumber answers +0), are left to it.
    if (t === "true" || t === "TRUE") return true;
    if (t === "false" || t === "FALSE") return false;
    if (t === "-0" || /^(?:inf|nan)$/i.test(t)) throw DECLINE;
    if (NUMBER.test(t)) return Number(t);
    if (NAME.test(t)) return t;
    throw DECLINE;
  }
  /** `name = constant` with a plain option name, into `into` (a repeated name is protobufjs' to read). */
  option(into: Raw): void {
    const name = this.name();
    this.expect("=");
    if (name in into) throw DECLINE;
    into[name] = this.constant();
  }
}
