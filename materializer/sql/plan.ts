// The compiled form of a view: what the apply engine and the query engine execute. Plain JSON (it is
// stored with the view definition), produced only by sql/compile.ts.
import type { KeyKind } from "../keys/encoding.ts";
import type { AvroSchemaJson, TableInfo } from "./catalog.ts";

/** One table occurrence in FROM, in FROM order; relation 0 is the driving table. */
export interface Relation {
  alias: string;
  table: TableInfo;
  /** Joined relations: the earlier relation the ON clause equates this one with; null for relation 0. */
  parent: number | null;
  join: "inner" | "left" | null;
  /** ON equalities, pairwise: parent.parentCols[i] = this.childCols[i]. */
  parentCols: string[];
  childCols: string[];
  /** Kinds used to encode join values (the parent's and child's columns compare by value across kinds). */
  joinKinds: KeyKind[];
  /** ON covers this table's whole primary key: at most one match per parent row (no view-key part). */
  manyToOne: boolean;
  /** Columns kept in state: projected, joined on, filtered on, and the key. */
  needed: string[];
  kinds: Record<string, KeyKind>;
}

export interface OutputColumn {
  name: string;
  rel: number;
  column: string;
  type: AvroSchemaJson;
}

/** One part of the view key: the driving table's key columns, then each one-to-many relation's key columns. */
export interface KeyPart {
  name: string;
  rel: number;
  column: string;
  type: AvroSchemaJson;
  kind: KeyKind;
}

export type Operand =
  { col: { rel: number; column: string }; kind: KeyKind } | { lit: unknown; kind: KeyKind };

export type Expr =
  | { op: "and" | "or"; args: Expr[] }
  | { op: "not"; arg: Expr }
  | { op: "cmp"; cmp: "=" | "<>" | "<" | "<=" | ">" | ">="; left: Operand; right: Operand }
  | { op: "in"; negated: boolean; left: Operand; list: Operand[] }
  | { op: "isnull"; negated: boolean; arg: Operand };

export interface ViewPlan {
  name: string;
  sql: string;
  relations: Relation[];
  columns: OutputColumn[];
  key: KeyPart[];
  where: Expr | null;
  /** Declared secondary indexes: each a list of output column names. */
  indexes: string[][];
}

export interface IndexStatement {
  view: string;
  columns: string[];
}
