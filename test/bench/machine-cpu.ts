// Where a benchmark's CPU goes on the whole machine: CPU time of every process from /proc, grouped (Kafka,
// Postgres, MariaDB, the bench's own process, its child processes, everything else), between two snapshots.
// On a 2-core machine an end-to-end figure is often bounded by the sum of these, not by one process: printing
// the cores each group used says which.
import { readdirSync, readFileSync } from "node:fs";

type Snapshot = Map<number, { group: string; ticks: number }>;

// Linux USER_HZ: clock ticks per second in /proc/<pid>/stat (100 on every Linux build Node supports).
const TICKS_PER_SECOND = 100;

function groupOf(pid: number, cmdline: string, benchChild: boolean): string {
  if (pid === process.pid) return "bench process";
  if (benchChild) return "bench children";
  if (cmdline.includes("kafka.Kafka")) return "kafka";
  if (/(^|\/)postgres\b/.test(cmdline) || cmdline.startsWith("postgres:")) return "postgres";
  if (/mariadbd|mysqld/.test(cmdline)) return "mariadb";
  return "other";
}

/** Whether `pid` descends from this process, through the parents read from /proc. */
function descends(pid: number, parents: Map<number, number>): boolean {
  for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p))
    if (p === process.pid) return true;
  return false;
}

function snapshot(): Snapshot {
  const seen: { pid: number; ppid: number; ticks: number; cmdline: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the command name (which may contain spaces) start past its closing parenthesis.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      seen.push({ pid, ppid: Number(fields[1]), ticks, cmdline });
    } catch {
      // The process ended between listing and reading.
    }
  }
  const parents = new Map(seen.map((p) => [p.pid, p.ppid]));
  const out: Snapshot = new Map();
  for (const p of seen)
    out.set(p.pid, { group: groupOf(p.pid, p.cmdline, descends(p.pid, parents)), ticks: p.ticks });
  return out;
}

/** Starts counting; `cores()` gives the cores each group used since (CPU seconds / wall seconds). */
export function machineCpu(): { cores: () => Map<string, number>; text: () => string } {
  const before = snapshot();
  const t0 = performance.now();
  const cores = (): Map<string, number> => {
    const after = snapshot();
    const seconds = (performance.now() - t0) / 1000;
    const used = new Map<string, number>();
    for (const [pid, now] of after) {
      const ticks = now.ticks - (before.get(pid)?.ticks ?? 0);
      used.set(now.group, (used.get(now.group) ?? 0) + ticks / TICKS_PER_SECOND / seconds);
    }
    return used;
  };
  return {
    cores,
    text: () => {
      const used = [...cores()].filter(([, c]) => c >= 0.01).sort((a, b) => b[1] - a[1]);
      const total = used.reduce((sum, [, c]) => sum + c, 0);
      return `cores used: ${used.map(([g, c]) => `${g} ${c.toFixed(2)}`).join(", ")}; total ${total.toFixed(2)}`;
    },
  };
}
