// The decoder's events (@vlasky/zongji, MariaDB's and MySQL's flavours alike) reduced to the items
// transaction grouping needs (transactions.ts `BinlogItem`), and what a TABLE_MAP says about its table.
// Pure: the stream shell resolves table ids to versions and runs DDL's catalogue reads.
import type { AnyBinlogEvent, TableMapEvent } from "@vlasky/zongji";
import type { TableMapFacts } from "./schema-tracker.ts";
import type { TableVersion } from "./table-version.ts";
import type { BinlogItem } from "./transactions.ts";

/** What a row event's table is to the session: a captured (or outbox) table's version, or the signal table. */
export type Target = { kind: "table"; version: TableVersion } | { kind: "signal" };

/**
 * The item of an event other than QUERY and TABLE_MAP (those need the catalogue), or null when it carries
 * nothing for grouping. `target` resolves a row event's table id (null/undefined: not read).
 */
export function itemOf(
  event: AnyBinlogEvent,
  file: string,
  target: (tableId: number) => Target | null | undefined,
): BinlogItem | null {
  const name = event.getEventName();
  switch (name) {
    case "rotate": {
      const e = event as AnyBinlogEvent & { binlogName: string; position: number };
      return { t: "rotate", file: e.binlogName, pos: e.position };
    }
    case "mariadbgtid": {
      // MariaDB: the GTID event replaces BEGIN; a standalone group (DDL) has no commit marker.
      const e = event as AnyBinlogEvent & { gtid: string; standalone: boolean };
      return {
        t: "gtid",
        gtid: e.gtid,
        standalone: e.standalone,
        timestampMs: e.timestamp,
        end: e.nextPosition,
      };
    }
    case "gtid":
    case "anonymousgtid": {
      // MySQL: a transaction's GTID event is followed by BEGIN; DDL has none (a group of its own).
      const gtid = name === "gtid" ? (event as AnyBinlogEvent & { gtid: string }).gtid : null;
      return { t: "gtid", gtid, standalone: true, timestampMs: event.timestamp, end: event.nextPosition };
    }
    case "writerows":
    case "updaterows":
    case "deleterows": {
      const e = event as AnyBinlogEvent & { tableId: number; rows: Record<string, unknown>[] };
      const t = target(e.tableId);
      if (!t) return null;
      const op = name === "writerows" ? "c" : name === "updaterows" ? "u" : "d";
      return { t: "rows", op, target: t, rows: e.rows, timestampMs: e.timestamp, end: e.nextPosition };
    }
    case "xid":
      return { t: "xid", end: event.nextPosition };
    case "xaprepare":
      return { t: "xa-prepare", end: event.nextPosition };
    case "heartbeat": {
      // MariaDB sends positions past 4 GiB in a sub-header (`position`); the header's is 0 then.
      const e = event as AnyBinlogEvent & { binlogName: string; position?: number | string };
      const pos = e.position !== undefined ? Number(e.position) : e.nextPosition;
      return pos > 0 ? { t: "heartbeat", file: e.binlogName || file, pos } : null;
    }
    default:
      return null;
  }
}

/** A TABLE_MAP's column types (ENUM/SET resolved from the metadata) and, under FULL, its own columns. */
export function tableMapFacts(event: TableMapEvent): TableMapFacts {
  const meta = event.columnsMetadata as ({ type?: number } | undefined)[];
  const types = event.columnTypes.map((t, i) => meta[i]?.type ?? t);
  const full = event.hasSelfDescribingMetadata();
  return {
    db: event.schemaName,
    table: event.tableName,
    types,
    binlogColumns: full ? event.buildColumnSchemas() : null,
    primaryKey: full && event.primaryKey ? event.primaryKey : null,
  };
}
