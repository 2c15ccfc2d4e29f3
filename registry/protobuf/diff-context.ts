// Owns the state of one Protobuf diff and what the rule files share: the Difference record, Confluent's
// COMPATIBLE_CHANGES, the two sides, and the context that collects differences at their paths, tracks the
// enclosing names and packages to resolve type names as protoc does, and guards recursive messages. The
// context carries the message comparison (diff-message.ts) so field rules reach it without importing it.
// Pure.
import type { MessageEl, ProtoFile } from "./model.ts";
import type { TypeInfo, TypeTable } from "./types.ts";

export const COMPATIBLE_CHANGES = new Set([
  "MESSAGE_ADDED",
  "MESSAGE_MOVED",
  "ENUM_ADDED",
  "ENUM_REMOVED",
  "ENUM_CONST_ADDED",
  "ENUM_CONST_CHANGED",
  "ENUM_CONST_REMOVED",
  "FIELD_ADDED",
  "FIELD_REMOVED",
  "FIELD_NAME_CHANGED",
  "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
  "ONEOF_ADDED",
  "ONEOF_REMOVED",
  "ONEOF_FIELD_ADDED",
]);

export interface Difference {
  type: string;
  path: string;
}

export interface Side {
  file: ProtoFile;
  table: TypeTable;
}

/** Compares two messages (their fields, then their nested types) into a context. */
export type CompareMessages = (ctx: DiffContext, original: MessageEl, update: MessageEl) => void;

export class DiffContext {
  diffs: Difference[] = [];
  path: string[] = [];
  names: string[] = [];
  /** Messages being compared further up the stack (recursive types). */
  readonly inProgress: Set<MessageEl>;
  pkg: [string, string];
  readonly sides: [TypeTable, TypeTable];
  readonly #compareMessages: CompareMessages;

  constructor(
    sides: [TypeTable, TypeTable],
    pkg: [string, string],
    compareMessages: CompareMessages,
    inProgress = new Set<MessageEl>(),
  ) {
    this.sides = sides;
    this.pkg = pkg;
    this.#compareMessages = compareMessages;
    this.inProgress = inProgress;
  }

  sub(): DiffContext {
    const c = new DiffContext(this.sides, [...this.pkg], this.#compareMessages, new Set(this.inProgress));
    c.path = [...this.path];
    c.names = [...this.names];
    return c;
  }

  compareMessages(original: MessageEl, update: MessageEl): void {
    this.#compareMessages(this, original, update);
  }

  add(type: string, attribute?: string): void {
    const path = attribute === undefined ? this.path : [...this.path, attribute];
    this.diffs.push({ type, path: `#/${path.join("/")}` });
  }

  compatible(): boolean {
    return this.diffs.every((d) => COMPATIBLE_CHANGES.has(d.type));
  }

  inPath<T>(p: string, f: () => T): T {
    this.path.push(p);
    try {
      return f();
    } finally {
      this.path.pop();
    }
  }

  inName<T>(n: string, f: () => T): T {
    this.names.push(n);
    try {
      return this.inPath(n, f);
    } finally {
      this.names.pop();
    }
  }

  resolve(name: string, side: 0 | 1): string | undefined {
    const table = this.sides[side];
    if (name.startsWith(".")) return table.get(name) ? name.slice(1) : undefined;
    const prefix = [...(this.pkg[side] ? [this.pkg[side]] : []), ...this.names];
    while (prefix.length > 0) {
      const n = `${prefix.join(".")}.${name}`;
      if (table.get(n)) return n;
      prefix.pop();
    }
    return table.get(name) ? name : undefined;
  }

  type(name: string, side: 0 | 1): TypeInfo | undefined {
    const full = this.resolve(name, side);
    return full === undefined ? undefined : this.sides[side].get(full);
  }
}

export function union<T>(a: Iterable<T>, b: Iterable<T>): T[] {
  return [...new Set([...a, ...b])];
}
