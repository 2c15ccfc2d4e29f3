// GTID states of the two server flavours, as the connector keeps them beside a binlog position: what has
// been executed up to that point. Pure and exact (sequence numbers are bigints: MariaDB's are u64, MySQL's
// GNOs reach 2^63-1).
//
//   MariaDB position  "D-S-N[,D-S-N...]"   one last GTID per replication domain D (server S, sequence N)
//   MySQL GTID set    "UUID:I[:I...][:TAG:I...][,UUID:...]"   I = N or N-M (inclusive), tags MySQL 8.3+
//
// A MySQL set always contains ':' and a MariaDB position never does; `parseGtidState` tells them apart.

/** One MariaDB GTID `domain-server-sequence`. */
export interface MariadbGtid {
  domain: number;
  server: number;
  seq: bigint;
}

export function parseMariadbGtid(text: string): MariadbGtid {
  const m = /^(\d+)-(\d+)-(\d+)$/.exec(text.trim());
  if (!m) throw new TypeError(`not a MariaDB GTID (domain-server-sequence): ${text}`);
  return { domain: Number(m[1]), server: Number(m[2]), seq: BigInt(m[3] as string) };
}

export function formatMariadbGtid(g: MariadbGtid): string {
  return `${g.domain}-${g.server}-${g.seq}`;
}

/** MariaDB's `gtid_binlog_pos`-style position: the last GTID seen per domain. */
export class MariadbGtidPosition {
  readonly flavor = "mariadb";
  private readonly domains = new Map<number, MariadbGtid>();

  static parse(text: string): MariadbGtidPosition {
    const pos = new MariadbGtidPosition();
    for (const part of text.split(",")) {
      if (part.trim() === "") continue;
      pos.advance(parseMariadbGtid(part));
    }
    return pos;
  }

  /** Records that `g` committed: it becomes its domain's last GTID. */
  advance(g: MariadbGtid): void {
    this.domains.set(g.domain, g);
  }

  /** True when `g` is at or before this position in its domain (same server: by sequence). */
  covers(g: MariadbGtid): boolean {
    const last = this.domains.get(g.domain);
    return last !== undefined && last.server === g.server && g.seq <= last.seq;
  }

  clone(): MariadbGtidPosition {
    const copy = new MariadbGtidPosition();
    for (const g of this.domains.values()) copy.advance(g);
    return copy;
  }

  toString(): string {
    return [...this.domains.values()]
      .sort((a, b) => a.domain - b.domain)
      .map(formatMariadbGtid)
      .join(",");
  }
}

/** One MySQL GTID `uuid:gno` (or `uuid:tag:gno` on MySQL 8.3+). */
export interface MysqlGtid {
  uuid: string;
  tag: string;
  gno: bigint;
}

export function parseMysqlGtid(text: string): MysqlGtid {
  const parts = text.trim().split(":");
  const uuid = (parts[0] ?? "").toLowerCase();
  if (!isUuid(uuid) || parts.length < 2 || parts.length > 3)
    throw new TypeError(`not a MySQL GTID (uuid:number): ${text}`);
  const gno = parts[parts.length - 1] ?? "";
  if (!/^\d+$/.test(gno)) throw new TypeError(`not a MySQL GTID (uuid:number): ${text}`);
  const tag = parts.length === 3 ? (parts[1] ?? "").toLowerCase() : "";
  return { uuid, tag, gno: BigInt(gno) };
}

export function formatMysqlGtid(g: MysqlGtid): string {
  return g.tag ? `${g.uuid}:${g.tag}:${g.gno}` : `${g.uuid}:${g.gno}`;
}

function isUuid(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text);
}

/** Inclusive interval of GNOs. */
type Interval = [bigint, bigint];

/** MySQL's `gtid_executed`-style set: intervals of GNOs per source uuid (and tag). */
export class MysqlGtidSet {
  readonly flavor = "mysql";
  /** `uuid` or `uuid:tag` → sorted, disjoint, non-adjacent intervals. */
  private readonly sets = new Map<string, Interval[]>();

  static parse(text: string): MysqlGtidSet {
    const set = new MysqlGtidSet();
    for (const raw of text.replace(/\s+/g, "").split(",")) {
      if (raw === "") continue;
      const parts = raw.split(":");
      const uuid = (parts[0] ?? "").toLowerCase();
      if (!isUuid(uuid)) throw new TypeError(`not a MySQL GTID set: ${text}`);
      let tag = "";
      for (const part of parts.slice(1)) {
        const m = /^(\d+)(?:-(\d+))?$/.exec(part);
        if (m) {
          const start = BigInt(m[1] as string);
          const end = m[2] === undefined ? start : BigInt(m[2]);
          if (end < start) throw new TypeError(`empty GTID interval ${part} in ${text}`);
          set.addInterval(uuid, tag, start, end);
        } else if (/^[a-z_][a-z0-9_]{0,31}$/i.test(part)) tag = part.toLowerCase();
        else throw new TypeError(`not a MySQL GTID set: ${text}`);
      }
    }
    return set;
  }

  add(g: MysqlGtid): void {
    this.addInterval(g.uuid, g.tag, g.gno, g.gno);
  }

  contains(g: MysqlGtid): boolean {
    const list = this.sets.get(key(g.uuid, g.tag));
    return list?.some(([s, e]) => s <= g.gno && g.gno <= e) ?? false;
  }

  clone(): MysqlGtidSet {
    return MysqlGtidSet.parse(this.toString());
  }

  private addInterval(uuid: string, tag: string, start: bigint, end: bigint): void {
    const k = key(uuid, tag);
    const list = this.sets.get(k) ?? [];
    // Fast path: the next GNO of the newest interval (how a stream grows a set).
    const last = list[list.length - 1];
    if (last && start === last[1] + 1n && end >= start) {
      last[1] = end;
      this.sets.set(k, list);
      return;
    }
    const merged: Interval[] = [];
    let s = start;
    let e = end;
    let placed = false;
    for (const [a, b] of list) {
      if (b + 1n < s) merged.push([a, b]);
      else if (e + 1n < a) {
        if (!placed) merged.push([s, e]);
        placed = true;
        merged.push([a, b]);
      } else {
        s = a < s ? a : s;
        e = b > e ? b : e;
      }
    }
    if (!placed) merged.push([s, e]);
    this.sets.set(k, merged);
  }

  toString(): string {
    // MySQL's own order: by uuid, the untagged intervals first, then each tag's.
    const byUuid = new Map<string, { tag: string; list: Interval[] }[]>();
    for (const [k, list] of this.sets) {
      const [uuid = "", tag = ""] = k.split(":");
      const entries = byUuid.get(uuid) ?? [];
      entries.push({ tag, list });
      byUuid.set(uuid, entries);
    }
    return [...byUuid.keys()]
      .sort()
      .map((uuid) => {
        const entries = (byUuid.get(uuid) ?? []).sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
        const parts = [uuid];
        for (const { tag, list } of entries) {
          if (tag) parts.push(tag);
          for (const [s, e] of list) parts.push(s === e ? `${s}` : `${s}-${e}`);
        }
        return parts.join(":");
      })
      .join(",");
  }
}

function key(uuid: string, tag: string): string {
  return tag ? `${uuid}:${tag}` : uuid;
}

export type GtidState = MariadbGtidPosition | MysqlGtidSet;

/** Reads either flavour (a MySQL set contains ':', a MariaDB position never does). */
export function parseGtidState(text: string): GtidState {
  return text.includes(":") ? MysqlGtidSet.parse(text) : MariadbGtidPosition.parse(text);
}

/** Adds one committed transaction's GTID (either flavour's text) to a state of the same flavour. */
export function advanceGtidState(state: GtidState, gtid: string): void {
  if (state instanceof MysqlGtidSet) state.add(parseMysqlGtid(gtid));
  else state.advance(parseMariadbGtid(gtid));
}

/** The transaction's sequence number (MariaDB seq, MySQL GNO): the envelope's `source.txId`. */
export function gtidSequence(gtid: string): bigint {
  const last = gtid.slice(Math.max(gtid.lastIndexOf(":"), gtid.lastIndexOf("-")) + 1);
  return BigInt(last);
}
