// A stage's row changes as input changes of the view it is compiled into: the view read in FROM is a table
// of topic `view:<name>` (plan.ts VIEW_TOPIC) keyed by the stage's key, whose rows are the stage's rows
// plus the key parts it does not show (sql/sources.ts viewTable). One source partition (0): a stage's rows
// are never truncated by partition, only deleted.
import { VIEW_TOPIC, type ViewPlan } from "../sql/plan.ts";
import type { Row } from "./shape.ts";
import type { TableChange, ViewChange } from "./view-state.ts";

export function stageChange(stage: ViewPlan, c: ViewChange): TableChange {
  const topic = `${VIEW_TOPIC}${stage.name}`;
  if (!c.after) return { op: "delete", topic, partition: 0, key: c.key };
  const row: Row = { ...c.after };
  stage.key.forEach((part, i) => {
    if (!(part.name in row)) row[part.name] = c.key[i] ?? null;
  });
  return { op: "upsert", topic, partition: 0, key: c.key, row };
}
