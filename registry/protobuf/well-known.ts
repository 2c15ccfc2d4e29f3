// Owns the files every Protobuf schema may import without a reference, as Confluent's registry provides them:
// google/protobuf/* (from protobufjs' bundled definitions) and Confluent's own decimal and meta types.
import protobuf from "protobufjs";
import { parseProto } from "./parse.ts";
import type { ProtoFile } from "./model.ts";

const CONFLUENT: Record<string, string> = {
  "confluent/type/decimal.proto": `syntax = "proto3";
package confluent.type;
message Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }`,
  "confluent/meta.proto": `syntax = "proto3";
package confluent;
message Meta { string doc = 1; map<string, string> params = 2; repeated string tags = 3; }`,
  "google/type/date.proto": `syntax = "proto3";
package google.type;
message Date { int32 year = 1; int32 month = 2; int32 day = 3; }`,
  "google/type/timeofday.proto": `syntax = "proto3";
package google.type;
message TimeOfDay { int32 hours = 1; int32 minutes = 2; int32 seconds = 3; int32 nanos = 4; }`,
  "google/type/money.proto": `syntax = "proto3";
package google.type;
message Money { string currency_code = 1; int64 units = 2; int32 nanos = 3; }`,
  "google/type/decimal.proto": `syntax = "proto3";
package google.type;
message Decimal { string value = 1; }`,
};

const cache = new Map<string, ProtoFile | null>();

/** The built-in file imported as `path`, or undefined. */
export function wellKnownFile(path: string): ProtoFile | undefined {
  let f = cache.get(path);
  if (f === undefined) {
    f = null;
    if (CONFLUENT[path]) f = parseProto(CONFLUENT[path]);
    else if (path.startsWith("google/protobuf/")) {
      const json = (protobuf.common as unknown as { get(p: string): protobuf.INamespace | null }).get(path);
      if (json) f = parseProto(toProtoText(json));
    }
    cache.set(path, f);
  }
  return f ?? undefined;
}

/** protobufjs' bundled definitions are JSON: written back as proto3 text for the one parser. */
function toProtoText(json: protobuf.INamespace): string {
  const root = protobuf.Root.fromJSON(json);
  const ns = root.lookup("google.protobuf") as protobuf.Namespace;
  const lines = ['syntax = "proto3";', "package google.protobuf;"];
  const write = (n: protobuf.ReflectionObject): string => {
    if (n instanceof protobuf.Enum)
      return `enum ${n.name} { ${Object.entries(n.values)
        .map(([k, v]) => `${k} = ${v};`)
        .join(" ")} }`;
    const t = n as protobuf.Type;
    const oneofs = t.oneofsArray.map(
      (o) => `oneof ${o.name} { ${o.fieldsArray.map((f) => `${f.type} ${f.name} = ${f.id};`).join(" ")} }`,
    );
    const fields = t.fieldsArray
      .filter((f) => !f.partOf)
      .map((f) =>
        f instanceof protobuf.MapField
          ? `map<${f.keyType}, ${f.type}> ${f.name} = ${f.id};`
          : `${(f as unknown as { rule?: string }).rule === "repeated" ? "repeated " : ""}${f.type} ${f.name} = ${f.id};`,
      );
    return `message ${t.name} { ${[...fields, ...oneofs, ...t.nestedArray.map(write)].join(" ")} }`;
  };
  for (const n of ns.nestedArray) lines.push(write(n));
  return lines.join("\n");
}
