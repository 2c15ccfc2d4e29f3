import { describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { protoBackwardMessages } from "./diff.ts";
import {
  decodeMessageIndexes,
  encodeMessageIndexes,
  messageIndexesOf,
  messageNameOf,
} from "./message-indexes.ts";
import { ProtobufSchemaError } from "./model.ts";
import { resolveProtobuf, type LookupReference } from "./schema.ts";

const none: LookupReference = () => undefined;

const ORDER = `syntax = "proto3";
package shop.v1;

import "google/protobuf/timestamp.proto";
option java_package = "com.shop";   // a comment
option optimize_for = SPEED;

/* Orders */
message Order {
  reserved 4, 9 to 11;
  reserved "legacy";
  string id = 1 [json_name = "orderId", deprecated = true];
  optional int64 total = 2;
  repeated Line lines = 3;
  map<string, Line> by_sku = 5;
  google.protobuf.Timestamp at = 6;
  oneof payment { string card = 7; string iban = 8; }
  message Line { string sku = 1; int32 qty = 2; }
  enum Status { NEW = 0; PAID = 1; }
}
enum Channel { WEB = 0; SHOP = 1; }
`;

describe("Protobuf canonical text (Confluent's ProtobufSchemaUtils.toString)", () => {
  it("prints declarations in source order with Confluent's layout, comments dropped", () => {
    expect(resolveProtobuf(ORDER, [], none).canonical).toBe(`syntax = "proto3";
package shop.v1;

import "google/protobuf/timestamp.proto";

option java_package = "com.shop";
option optimize_for = SPEED;

message Order {
  reserved 4, 9 to 11;
  reserved "legacy";

  string id = 1 [
    deprecated = true,
    json_name = "orderId"
  ];
  optional int64 total = 2;
  repeated Line lines = 3;
  map<string, Line> by_sku = 5;
  google.protobuf.Timestamp at = 6;

  oneof payment {
    string card = 7;
    string iban = 8;
  }

  message Line {
    string sku = 1;
    int32 qty = 2;
  }
  enum Status {
    NEW = 0;
    PAID = 1;
  }
}
enum Channel {
  WEB = 0;
  SHOP = 1;
}
`);
  });

  it("whitespace and comments do not change the text (same identity)", () => {
    const a = resolveProtobuf(`syntax="proto3";package p;message M{string a=1;}`, [], none).canonical;
    const b = resolveProtobuf(
      `syntax = "proto3";\n// x\npackage p;\nmessage M {\n  string a = 1; /* y */\n}\n`,
      [],
      none,
    );
    expect(b.canonical).toBe(a);
  });

  it("normalizes: fields by number, reserved split and sorted, types fully qualified", () => {
    const n = resolveProtobuf(
      `syntax = "proto3"; package p; message M { reserved 9, 2; N b = 2; string a = 1; message N { int32 x = 1; } }`,
      [],
      none,
    ).normalized();
    expect(n).toContain("  reserved 2;\n  reserved 9;\n");
    expect(n).toContain("  string a = 1;\n  .p.M.N b = 2;\n");
  });

  it("refuses what does not parse or names an unknown type (42201 upstream)", () => {
    expect(() => resolveProtobuf(`syntax = "proto3"; message M { int32 a = 1 }`, [], none)).toThrow(
      ProtobufSchemaError,
    );
    expect(() => resolveProtobuf(`syntax = "proto3"; message M { Nope a = 1; }`, [], none)).toThrow(
      /Could not resolve type: Nope/,
    );
  });

  it("resolves imports through references (the reference name is the import path)", () => {
    const lookup: LookupReference = (subject, version) =>
      subject === "common" && version === 1
        ? { schema: `syntax = "proto3"; package common; message Money { int64 units = 1; }`, references: [] }
        : undefined;
    const refs = [{ name: "common/money.proto", subject: "common", version: 1 }];
    const s = resolveProtobuf(
      `syntax = "proto3"; package p; import "common/money.proto"; message M { common.Money m = 1; }`,
      refs,
      lookup,
    );
    expect(s.normalized()).toContain(".common.Money m = 1;");
    expect(() =>
      resolveProtobuf(
        `syntax = "proto3"; import "x.proto"; message M { int32 a = 1; }`,
        [{ name: "x.proto", subject: "nope", version: 1 }],
        lookup,
      ),
    ).toThrow(/not found/);
  });
});

describe("FileDescriptorProto (?format=serialized, and what serializers register)", () => {
  it("encodes a descriptor that protobuf-es reads: fully qualified types, map entries, proto3 optional", () => {
    const s = resolveProtobuf(ORDER, [], none);
    const fd = fromBinary(FileDescriptorProtoSchema, Buffer.from(s.serialized(), "base64"));
    expect(fd.package).toBe("shop.v1");
    expect(fd.dependency).toEqual(["google/protobuf/timestamp.proto"]);
    const order = fd.messageType[0]!;
    expect(order.field.find((f) => f.name === "lines")?.typeName).toBe(".shop.v1.Order.Line");
    expect(order.nestedType.map((n) => n.name)).toEqual(["Line", "BySkuEntry"]);
    expect(order.nestedType[1]!.options?.mapEntry).toBe(true);
    expect(order.field.find((f) => f.name === "total")?.proto3Optional).toBe(true);
    expect(order.oneofDecl.map((o) => o.name)).toEqual(["payment", "_total"]);
  });

  it("accepts a base64 FileDescriptorProto as the schema, as Confluent does (map entries kept as messages)", () => {
    const fd = create(FileDescriptorProtoSchema, {
      name: "x.proto",
      package: "p",
      syntax: "proto3",
      messageType: [{ name: "M", field: [{ name: "a", number: 1, label: 1, type: 9, jsonName: "a" }] }],
    });
    const text = Buffer.from(toBinary(FileDescriptorProtoSchema, fd)).toString("base64");
    expect(resolveProtobuf(text, [], none).canonical).toBe(
      `syntax = "proto3";\npackage p;\n\nmessage M {\n  string a = 1 [json_name = "a"];\n}\n`,
    );
    const round = resolveProtobuf(resolveProtobuf(ORDER, [], none).serialized(), [], none);
    expect(round.canonical).toContain("repeated .shop.v1.Order.BySkuEntry by_sku = 5;");
    expect(round.canonical).toContain("    option map_entry = true;");
  });
});

describe("message indexes of the wire format", () => {
  it("writes [0] as one zero byte and other paths as zigzag varints", () => {
    expect([...encodeMessageIndexes([0])]).toEqual([0]);
    expect([...encodeMessageIndexes([1])]).toEqual([2, 2]);
    expect([...encodeMessageIndexes([0, 2])]).toEqual([4, 0, 4]);
    expect([...encodeMessageIndexes([70])]).toEqual([2, 140, 1]);
    for (const ix of [[0], [3], [1, 0, 5], [200]]) {
      const bytes = Buffer.concat([encodeMessageIndexes(ix), Buffer.from([0xff])]);
      expect(decodeMessageIndexes(bytes)).toEqual({ indexes: ix, bytes: bytes.length - 1 });
    }
  });

  it("locates messages by name (enums do not count) and back", () => {
    const { file } = resolveProtobuf(ORDER, [], none);
    expect(messageIndexesOf(file, "shop.v1.Order")).toEqual([0]);
    expect(messageIndexesOf(file, "Order.Line")).toEqual([0, 0]);
    expect(messageIndexesOf(file, "Channel")).toBeUndefined();
    expect(messageNameOf(file, [0, 0])).toBe("shop.v1.Order.Line");
  });
});

describe("verbose reasons", () => {
  it("words a difference as Confluent's Difference.toString, with its path", () => {
    const old = resolveProtobuf(`syntax = "proto3"; package p; message M { int32 a = 1; }`, [], none);
    const neu = resolveProtobuf(`syntax = "proto3"; package p; message M { string a = 1; }`, [], none);
    expect(protoBackwardMessages(neu, old)).toEqual([
      `{errorType:"FIELD_SCALAR_KIND_CHANGED", description:"The kind of a SCALAR field at path '#/M/1' in the %s schema does not match its kind in the %s schema"}`,
    ]);
  });
});
