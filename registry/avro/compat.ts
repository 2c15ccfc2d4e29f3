// Owns reader/writer compatibility: a port of Apache Avro's Java SchemaCompatibility
// (ReaderWriterCompatibilityChecker, 1.12), which is what Confluent's registry decides with. Logical types
// are ignored there (only the underlying type counts), and so here. Pure.
import type { AvroSchema, EnumSchema, Field, FixedSchema, NamedSchema, RecordSchema } from "./schema.ts";

export type IncompatibilityType =
  | "NAME_MISMATCH"
  | "FIXED_SIZE_MISMATCH"
  | "MISSING_ENUM_SYMBOLS"
  | "READER_FIELD_MISSING_DEFAULT_VALUE"
  | "TYPE_MISMATCH"
  | "MISSING_UNION_BRANCH";

export interface Incompatibility {
  type: IncompatibilityType;
  /** JSON-pointer-like path in the reader schema, e.g. `/fields/1/type`. */
  location: string;
  message: string;
  reader: AvroSchema;
  writer: AvroSchema;
}

export interface CompatResult {
  compatible: boolean;
  incompatibilities: Incompatibility[];
}

const OK: CompatResult = { compatible: true, incompatibilities: [] };

function merge(a: CompatResult, b: CompatResult): CompatResult {
  if (b.compatible) return a;
  if (a.compatible) return b;
  return { compatible: false, incompatibilities: [...a.incompatibilities, ...b.incompatibilities] };
}

/** Can data written with `writer` be read with `reader`? */
export function checkReaderWriter(reader: AvroSchema, writer: AvroSchema): CompatResult {
  return new Checker().check(reader, writer, []);
}

const IN_PROGRESS = Symbol("recursion in progress");

/** Avro's Schema.Type names, for messages. */
function typeName(s: AvroSchema): string {
  return s.kind.toUpperCase();
}

class Checker {
  private readonly memo = new Map<AvroSchema, Map<AvroSchema, CompatResult | typeof IN_PROGRESS>>();

  check(reader: AvroSchema, writer: AvroSchema, loc: string[]): CompatResult {
    let byWriter = this.memo.get(reader);
    if (!byWriter) this.memo.set(reader, (byWriter = new Map()));
    const seen = byWriter.get(writer);
    // A pair already being checked further up is a recursive type: Avro treats it as compatible.
    if (seen === IN_PROGRESS) return OK;
    if (seen) return seen;
    byWriter.set(writer, IN_PROGRESS);
    const result = this.calculate(reader, writer, loc);
    byWriter.set(writer, result);
    return result;
  }

  private at(loc: string[], ...more: string[]): string[] {
    return [...loc, ...more];
  }

  private incompatible(
    type: IncompatibilityType,
    reader: AvroSchema,
    writer: AvroSchema,
    message: string,
    loc: string[],
  ): CompatResult {
    return {
      compatible: false,
      incompatibilities: [{ type, location: `/${loc.join("/")}`, message, reader, writer }],
    };
  }

  private typeMismatch(reader: AvroSchema, writer: AvroSchema, loc: string[]): CompatResult {
    const message = `reader type: ${typeName(reader)} not compatible with writer type: ${typeName(writer)}`;
    return this.incompatible("TYPE_MISMATCH", reader, writer, message, loc);
  }

  private calculate(reader: AvroSchema, writer: AvroSchema, loc: string[]): CompatResult {
    if (reader.kind === writer.kind) {
      switch (reader.kind) {
        case "array":
          return this.check(reader.items, (writer as typeof reader).items, this.at(loc, "items"));
        case "map":
          return this.check(reader.values, (writer as typeof reader).values, this.at(loc, "values"));
        case "fixed": {
          const w = writer as FixedSchema;
          let r = this.names(reader, w, loc);
          if (reader.size !== w.size) {
            const message = `expected: ${w.size}, found: ${reader.size}`;
            r = merge(
              r,
              this.incompatible("FIXED_SIZE_MISMATCH", reader, writer, message, this.at(loc, "size")),
            );
          }
          return r;
        }
        case "enum":
          return merge(
            this.names(reader, writer as EnumSchema, loc),
            this.enumSymbols(reader, writer as EnumSchema, loc),
          );
        case "record":
          return merge(
            this.names(reader, writer as RecordSchema, loc),
            this.fields(reader, writer as RecordSchema, loc),
          );
        case "union": {
          // Every branch the writer may have used must be readable.
          let r = OK;
          if (writer.kind !== "union") return r;
          writer.types.forEach((branch, i) => {
            const l = this.at(loc, String(i));
            if (!this.check(reader, branch, l).compatible) {
              const message = `reader union lacking writer type: ${typeName(branch)}`;
              r = merge(r, this.incompatible("MISSING_UNION_BRANCH", reader, writer, message, l));
            }
          });
          return r;
        }
        default:
          return OK;
      }
    }
    if (writer.kind === "union") {
      let r = OK;
      writer.types.forEach((branch, i) => {
        r = merge(r, this.check(reader, branch, this.at(loc, String(i))));
      });
      return r;
    }
    switch (reader.kind) {
      case "long":
        return writer.kind === "int" ? OK : this.typeMismatch(reader, writer, loc);
      case "float":
        return writer.kind === "int" || writer.kind === "long" ? OK : this.typeMismatch(reader, writer, loc);
      case "double":
        return writer.kind === "int" || writer.kind === "long" || writer.kind === "float"
          ? OK
          : this.typeMismatch(reader, writer, loc);
      case "bytes":
        return writer.kind === "string" ? OK : this.typeMismatch(reader, writer, loc);
      case "string":
        return writer.kind === "bytes" ? OK : this.typeMismatch(reader, writer, loc);
      case "union": {
        for (const branch of reader.types) {
          if (this.check(branch, writer, loc).compatible) return OK;
        }
        const message = `reader union lacking writer type: ${typeName(writer)}`;
        return this.incompatible("MISSING_UNION_BRANCH", reader, writer, message, loc);
      }
      default:
        return this.typeMismatch(reader, writer, loc);
    }
  }

  /** Avro compares short names; a reader alias may name the writer's full name. */
  private names(reader: NamedSchema, writer: NamedSchema, loc: string[]): CompatResult {
    if (shortName(reader.name) === shortName(writer.name) || reader.aliases.includes(writer.name)) return OK;
    return this.incompatible(
      "NAME_MISMATCH",
      reader,
      writer,
      `expected: ${writer.name}`,
      this.at(loc, "name"),
    );
  }

  private enumSymbols(reader: EnumSchema, writer: EnumSchema, loc: string[]): CompatResult {
    const missing = writer.symbols.filter((s) => !reader.symbols.includes(s)).sort();
    if (missing.length === 0) return OK;
    // A reader enum default absorbs symbols it does not know.
    if (reader.default !== undefined && reader.symbols.includes(reader.default)) return OK;
    return this.incompatible(
      "MISSING_ENUM_SYMBOLS",
      reader,
      writer,
      `[${missing.join(", ")}]`,
      this.at(loc, "symbols"),
    );
  }

  private fields(reader: RecordSchema, writer: RecordSchema, loc: string[]): CompatResult {
    let r = OK;
    for (const rf of reader.fields) {
      const l = this.at(loc, "fields", String(rf.pos));
      const wf = lookupWriterField(writer, rf);
      if (!wf) {
        if (rf.hasDefault) continue;
        if (rf.type.kind === "enum" && rf.type.default !== undefined) {
          // Avro checks the enum against the whole writer record here (and so reports a mismatch).
          r = merge(r, this.check(rf.type, writer, this.at(l, "type")));
        } else {
          r = merge(r, this.incompatible("READER_FIELD_MISSING_DEFAULT_VALUE", reader, writer, rf.name, l));
        }
      } else {
        r = merge(r, this.check(rf.type, wf.type, this.at(l, "type")));
      }
    }
    return r;
  }
}

function shortName(full: string): string {
  return full.slice(full.lastIndexOf(".") + 1);
}

function lookupWriterField(writer: RecordSchema, rf: Field): Field | undefined {
  const direct = writer.fields.find((f) => f.name === rf.name);
  if (direct) return direct;
  for (const alias of rf.aliases) {
    const found = writer.fields.find((f) => f.name === alias);
    if (found) return found;
  }
  return undefined;
}
