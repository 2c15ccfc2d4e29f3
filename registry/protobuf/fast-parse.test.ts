// The fast reader (fast-parse.ts) against protobufjs (parse.ts): on every schema of the corpora and on
// variants written to reach each construct, whatever the fast reader takes it reads exactly as protobufjs
// does, and what it declines protobufjs reads (or refuses) alone. It must take the common shapes, or the
// registrations it exists for would not get faster.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseCommonProto } from "./fast-parse.ts";
import { parseProto, parseProtoWithProtobufjs } from "./parse.ts";
import { schemaBody } from "../../test/bench/http-load.ts";

const cases = JSON.parse(readFileSync(new URL("./compat-cases.json", import.meta.url), "utf8")) as {
  history: string[];
  candidate: string;
}[];
const testSource = readFileSync(new URL("./protobuf.test.ts", import.meta.url), "utf8");
const fromTests = [...testSource.matchAll(/`(syntax[^`]*)`/g)]
  .map((m) => m[1]!)
  .filter((s) => !s.includes("${"));

/** Schemas the fast reader must take (the common shapes). */
const COMMON = [
  schemaBody("PROTOBUF", 7).schema,
  `syntax = "proto3";
package com.acme.orders.v1;
import "google/protobuf/timestamp.proto";
import public "other.proto";
option java_package = "com.acme.orders";
option java_multiple_files = true;
option optimize_for = SPEED;
// An order as the service publishes it.
message Order {
  string id = 1;
  int64 customer_id = 2 [json_name = "customerId"];
  repeated Line lines = 3;
  map<string, string> labels = 4;
  google.protobuf.Timestamp created_at = 5;
  optional string note = 6;
  Status status = 7 [deprecated = true];
  oneof payment { string card = 8; string iban = 9; }
  reserved 10, 12 to 14, 100 to max;
  reserved "old", "older";
  message Line { int32 qty = 1; double price = 2; .com.acme.orders.v1.Order.Status s = 3; }
  enum Status { STATUS_UNKNOWN = 0; PLACED = 1; SHIPPED = 2 [deprecated = true]; }
  /* block comment */
}
enum Kind { KIND_UNKNOWN = 0; BIG = -1; }
service Orders {
  option deprecated = false;
  rpc Get (Order) returns (Order);
  rpc Watch (Order) returns (stream Order) { option idempotency_level = NO_SIDE_EFFECTS; }
}`,
  `syntax = "proto2";
package p;
message M {
  required int32 a = 1;
  optional string b = 2 [default = "x"];
  optional int64 c = 3 [default = -5];
  repeated bytes d = 4 [packed = false];
  map<int32, M> e = 5;
  extensions 100 to 199, 300;
}`,
  `message NoSyntax { optional int32 a = 1; }`,
  `syntax = "proto2"; message M { optional bool a = 1 [default = TRUE]; optional bool b = 2 [default = FALSE]; }`,
  `syntax = "proto2"; message M { optional double a = 1 [default = -0.5]; optional int32 b = 2 [default = 0]; }`,
  `syntax = "proto3"; message M { message N { int32 x = 1; }; oneof o { string a = 1; }; } enum E { A = 0; };`,
];

/** Shapes it must decline, each read by protobufjs alone. */
const DECLINED = [
  `syntax = "proto3"; message M { string a = 1 [(my.opt) = "x"]; }`,
  `syntax = "proto3"; message M { option (my.opt) = { a: 1 }; string a = 1; }`,
  `syntax = "proto2"; message M { optional group G = 1 { optional int32 x = 2; } }`,
  `syntax = "proto2"; message M { extensions 100 to 199; } extend M { optional int32 x = 100; }`,
  `syntax = "proto3"; message M { string a = 1; string b = 1; }`,
  `syntax = "proto3"; message M { string a = 1; string a = 2; }`,
  `syntax = "proto3"; message M { string a = 1 [default = "a" "b"]; }`,
  `syntax = "proto3"; message M { string a = 1 [default = "a\\"b"]; }`,
  `syntax = "proto3"; message M { reserved 1; string a = 1; }`,
  `syntax = "proto3"; enum E { option allow_alias = true; A = 0; B = 0; }`,
  `syntax = "proto3"; message M { string a = 0x1; }`,
  `edition = "2023"; message M { string a = 1; }`,
  `syntax = "proto3"; message M { string a = 1; `,
  `option java_package = "x"; package p; message M { string a = 1; }`,
  `syntax = "proto3"; message M { string a = 1 }`,
  `syntax = "proto2"; message M { optional double a = 1 [default = inf]; optional double b = 2 [default = -Inf]; }`,
  `syntax = "proto2"; message M { optional double a = 1 [default = NaN]; }`,
  `syntax = "proto2"; message M { optional int32 a = 1 [default = -0]; }`,
  `syntax = "proto3"; enum E { A = 0; B = -0; }`,
  `syntax = "proto2"; message M { optional int32 a = 1 [default = 0x10]; optional int32 b = 2 [default = 010]; }`,
  `syntax = "proto2"; message M { optional double a = 1 [default = 1e5]; }`,
  `syntax = "proto3"; message M { string a = 1; reserved 5 to MAX; }`,
  `syntax = "proto3"; message M { string a = 1 [(x) = true]; }`,
  `syntax = "proto3";; message M { string a = 1; }`,
  `syntax = "proto3"; message M { string a = 1;; }`,
  `syntax = "proto3"; message M { string a = 1; } import "x.proto";`,
  `syntax = "proto3"; message M { map m = 1; }`,
  `syntax = "proto3"; enum E { A = 0;; }`,
  `syntax = "proto3"; message M { oneof o { string a = 1;; } }`,
  `syntax = "proto3"; service S { rpc A (M) returns (M) { ; } } message M { string a = 1; }`,
];

const corpus = [...cases.flatMap((c) => [...c.history, c.candidate]), ...fromTests, ...COMMON, ...DECLINED];

function reference(text: string): { file?: unknown; error?: string } {
  try {
    return { file: parseProtoWithProtobufjs(text) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe("the fast .proto reader", () => {
  it("reads every schema it takes exactly as protobufjs does, across the corpora", () => {
    let taken = 0;
    for (const text of corpus) {
      const fast = parseCommonProto(text);
      if (!fast) continue;
      taken++;
      const ref = reference(text);
      expect(ref.error, text).toBeUndefined();
      expect(fast, text).toEqual(ref.file);
    }
    // Most of the corpus is the common subset: the fast path is the one taken.
    expect(taken).toBeGreaterThan(corpus.length / 2);
  });

  it("takes the common shapes", () => {
    for (const text of COMMON) expect(parseCommonProto(text), text).not.toBeNull();
  });

  it("declines the rest, which protobufjs reads or refuses as before", () => {
    for (const text of DECLINED) {
      expect(parseCommonProto(text), text).toBeNull();
      const ref = reference(text);
      if (ref.error !== undefined) expect(() => parseProto(text), text).toThrow(ref.error);
      else expect(parseProto(text)).toEqual(ref.file);
    }
  });
});
