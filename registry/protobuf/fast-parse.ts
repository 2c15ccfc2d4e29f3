// Owns the fast reader of .proto text: the subset most schemas use (proto2/proto3 syntax, package, imports,
// messages with scalar, message, map and oneof fields, nested types, enums, services, reserved and extension
// ranges, options whose names are plain identifiers and whose values are single constants), read straight
// into the element model, the same model parse.ts builds from protobufjs' reflection tree. It returns null for
// anything outside the subset or anything it doubts (an error, a duplicate, an escape in a string, an
// aggregate option, `extend`, groups, editions), and protobufjs reads those: answers and errors stay
// protobufjs'. fast-parse.test.ts checks both readers agree on every schema of the corpora. Pure.
import type { EnumEl, FieldEl, Label, MessageEl, OneOfEl, ProtoFile, ServiceEl, TypeEl } from "./model.ts";
import { DECLINE, MAX_TAG, NAME, Tokens, TYPE_REF, type Raw } from "./fast-tokens.ts";
import { fieldEl, hints, options, reservedStatements, type Hints } from "./parse-common.ts";

/** The element model of `text`, or null when it is not in the subset this reader takes. */
export function parseCommonProto(text: string): ProtoFile | null {
  try {
    return readFile(new Tokens(text), text);
  } catch (e) {
    if (e === DECLINE) return null;
    throw e;
  }
}

function readFile(t: Tokens, text: string): ProtoFile {
  const h = hints(text);
  const proto2 = h.syntax !== "proto3";
  const imports: string[] = [];
  const weak: string[] = [];
  const fileOptions: Raw = {};
  const types: TypeEl[] = [];
  const services: ServiceEl[] = [];
  const names = new Set<string>();
  let packageName: string | null = null;
  let declared = false;
  /** protobufjs takes syntax, package and imports only before the first message, enum or service. */
  let head = true;
  let first = true;
  while (!t.done) {
    const word = t.next();
    if ((word === "syntax" || word === "package" || word === "import") && !head) throw DECLINE;
    if (word === "syntax") {
      if (!first) throw DECLINE;
      t.expect("=");
      const s = t.string();
      if (s !== h.syntax) throw DECLINE;
      t.expect(";");
    } else if (word === "package") {
      // Declarations or options before it would belong to the root, not the package: protobufjs' to read.
      if (packageName !== null || declared) throw DECLINE;
      packageName = t.typeRef();
      if (packageName.startsWith(".")) throw DECLINE;
      t.expect(";");
    } else if (word === "import") {
      const kind = t.peek();
      if (kind === "weak" || kind === "public") t.i++;
      (kind === "weak" ? weak : imports).push(t.string());
      t.expect(";");
    } else if (word === "option") {
      declared = true;
      t.option(fileOptions);
      t.expect(";");
    } else if (word === "message" || word === "enum") {
      declared = true;
      head = false;
      const el = word === "message" ? readMessage(t, h, proto2) : readEnum(t, h);
      unique(names, el.name);
      types.push(el);
    } else if (word === "service") {
      declared = true;
      head = false;
      const s = readService(t, h);
      unique(names, s.name);
      services.push(s);
    } else throw DECLINE;
    first = false;
  }
  const all = [...imports, ...weak];
  return {
    syntax: h.syntax,
    packageName,
    imports: all.filter((i) => !h.publicImports.has(i)),
    publicImports: all.filter((i) => h.publicImports.has(i)),
    options: options(fileOptions, h),
    types,
    services,
    extendDeclarations: [],
  };
}

function unique(names: Set<string>, name: string): void {
  if (names.has(name)) throw DECLINE;
  names.add(name);
}

function fieldOptions(t: Tokens): Raw {
  const o: Raw = {};
  if (t.skip("[")) {
    do t.option(o);
    while (t.skip(","));
    t.expect("]");
  }
  return o;
}

/** A field after its label (if any): `type name = tag [options];`, or a map field. */
function readField(t: Tokens, h: Hints, label: Label, typeWord: string): FieldEl {
  let type = typeWord;
  if (typeWord === "map" && t.peek() === "<") {
    if (label !== null) throw DECLINE;
    t.expect("<");
    const key = t.typeRef();
    t.expect(",");
    const value = t.typeRef();
    t.expect(">");
    type = `map<${key}, ${value}>`;
  } else if (!TYPE_REF.test(typeWord) || typeWord === "group" || typeWord === "map") throw DECLINE;
  const name = t.name();
  t.expect("=");
  const tag = t.tag();
  const raw = fieldOptions(t);
  t.expect(";");
  return fieldEl(name, tag, type, label, raw, h);
}

function readMessage(t: Tokens, h: Hints, proto2: boolean): MessageEl {
  const name = t.name();
  t.expect("{");
  const fields: FieldEl[] = [];
  const oneofs: OneOfEl[] = [];
  const nested: TypeEl[] = [];
  const o: Raw = {};
  const reserved: (number[] | string)[] = [];
  const extensions: [number, number][] = [];
  const memberNames = new Set<string>();
  const nestedNames = new Set<string>();
  const tags = new Set<number>();
  const addField = (f: FieldEl): void => {
    unique(memberNames, f.name);
    if (tags.has(f.tag)) throw DECLINE;
    tags.add(f.tag);
  };
  while (!t.skip("}")) {
    const word = t.next();
    if (word === "message" || word === "enum") {
      const el = word === "message" ? readMessage(t, h, proto2) : readEnum(t, h);
      unique(nestedNames, el.name);
      nested.push(el);
    } else if (word === "option") {
      t.option(o);
      t.expect(";");
    } else if (word === "reserved") {
      readRanges(t, reserved, true);
    } else if (word === "extensions") {
      const ranges: (number[] | string)[] = [];
      readRanges(t, ranges, false);
      for (const r of ranges) extensions.push([(r as number[])[0]!, (r as number[])[1]!]);
    } else if (word === "oneof") {
      const oneof = readOneOf(t, h);
      for (const f of oneof.fields) addField(f);
      unique(memberNames, oneof.name);
      oneofs.push(oneof);
    } else if (word === "optional" || word === "required" || word === "repeated") {
      if (word === "required" && !proto2) throw DECLINE;
      const el = readField(t, h, word, t.next());
      if (el.type.startsWith("map<")) throw DECLINE;
      // proto2 reads `optional` as the default label; proto3's `optional` is explicit presence.
      addField(el);
      fields.push(el);
    } else if (word === "extend" || word === "group") {
      throw DECLINE;
    } else {
      const el = readField(t, h, null, word);
      if (proto2 && !el.type.startsWith("map<")) throw DECLINE; // proto2 fields carry a label
      addField(el);
      fields.push(el);
    }
  }
  t.endBlock();
  for (const r of reserved) {
    if (typeof r === "string" ? memberNames.has(r) : [...tags].some((n) => n >= r[0]! && n <= r[1]!))
      throw DECLINE;
  }
  for (const n of nestedNames) if (memberNames.has(n)) throw DECLINE;
  return {
    kind: "message",
    name,
    fields,
    oneofs,
    nested,
    options: options(o, h),
    reserved: reservedStatements(reserved),
    extensions,
  };
}

function readOneOf(t: Tokens, h: Hints): OneOfEl {
  const name = t.name();
  t.expect("{");
  const fields: FieldEl[] = [];
  const o: Raw = {};
  while (!t.skip("}")) {
    const word = t.next();
    if (word === "option") {
      t.option(o);
      t.expect(";");
      continue;
    }
    if (word === "optional" || word === "required" || word === "repeated" || word === "group") throw DECLINE;
    const f = readField(t, h, null, word);
    if (f.type.startsWith("map<")) throw DECLINE;
    fields.push(f);
  }
  t.endBlock();
  return { name, fields, options: options(o, h) };
}

/** `a, b to c, d to max;` (numbers) or `"x", "y";` (names, when allowed), as protobufjs flattens them. */
function readRanges(t: Tokens, into: (number[] | string)[], names: boolean): void {
  do {
    if (t.peek() === undefined) {
      if (!names) throw DECLINE;
      const n = t.string();
      if (!NAME.test(n)) throw DECLINE;
      into.push(n);
      continue;
    }
    const from = t.tag();
    let to = from;
    if (t.skip("to")) to = t.skip("max") ? MAX_TAG : t.tag();
    if (to < from) throw DECLINE;
    into.push([from, to]);
  } while (t.skip(","));
  t.expect(";");
}

function readEnum(t: Tokens, h: Hints): EnumEl {
  const name = t.name();
  t.expect("{");
  const o: Raw = {};
  const constants: EnumEl["constants"] = [];
  const names = new Set<string>();
  const tags = new Set<number>();
  while (!t.skip("}")) {
    const word = t.next();
    if (word === "option") {
      t.option(o);
      t.expect(";");
      continue;
    }
    if (word === "reserved") throw DECLINE;
    if (!NAME.test(word)) throw DECLINE;
    t.expect("=");
    const v = t.next();
    if (!/^(?:0|-?[1-9][0-9]*)$/.test(v)) throw DECLINE; // protobufjs refuses "-0"
    const tag = Number(v);
    const raw = fieldOptions(t);
    t.expect(";");
    unique(names, word);
    // Aliases (two names, one number) are allowed only with allow_alias: protobufjs decides.
    if (tags.has(tag)) throw DECLINE;
    tags.add(tag);
    constants.push({ name: word, tag, options: options(Object.keys(raw).length > 0 ? raw : undefined, h) });
  }
  t.endBlock();
  if (constants.length === 0) throw DECLINE;
  return { kind: "enum", name, options: options(o, h), constants };
}

function readService(t: Tokens, h: Hints): ServiceEl {
  const name = t.name();
  t.expect("{");
  const o: Raw = {};
  const rpcs: ServiceEl["rpcs"] = [];
  const names = new Set<string>();
  while (!t.skip("}")) {
    const word = t.next();
    if (word === "option") {
      t.option(o);
      t.expect(";");
      continue;
    }
    if (word !== "rpc") throw DECLINE;
    const rpcName = t.name();
    unique(names, rpcName);
    const side = (): [string, boolean] => {
      t.expect("(");
      const stream = t.peek() === "stream" && t.list[t.i + 1] !== ")" ? (t.i++, true) : false;
      const type = t.typeRef();
      t.expect(")");
      return [type, stream];
    };
    const [requestType, requestStreaming] = side();
    t.expect("returns");
    const [responseType, responseStreaming] = side();
    const ro: Raw = {};
    if (t.skip("{")) {
      while (!t.skip("}")) {
        t.expect("option");
        t.option(ro);
        t.expect(";");
      }
      t.skip(";");
    } else t.expect(";");
    rpcs.push({
      name: rpcName,
      requestType,
      responseType,
      requestStreaming,
      responseStreaming,
      options: options(ro, h),
    });
  }
  t.endBlock();
  return { name, options: options(o, h), rpcs };
}
