/**
 * Several writes in one statement (docs/adr/0022-single-statement-invoice-creation.md). A statement is
 * atomic on its own, so writes chained as data-modifying CTEs commit together without BEGIN/COMMIT:
 * one round trip where a transaction takes one per statement plus two. Each table's owner writes its
 * own part; the caller joins them.
 */

/** A piece of SQL whose parameters are numbered from $1 within the piece, with their values. */
export type SqlPart = Readonly<{ text: string; values: readonly unknown[] }>

/**
 * A write as CTEs (`name as (insert …)`), gated on the CTE named by the caller: each part inserts only
 * `where exists (select 1 from <gate>)`, so nothing is written when the gate produced no row. `done`
 * names the part's last CTE, which produces one row when the write happened (the next part's gate).
 */
export type GatedWrite = Readonly<{ ctes: readonly SqlPart[]; done: string }>

export type GatedWriteBuilder = (gate: string) => GatedWrite

/**
 * One write for the rows of many requests at once (a batch: docs/adr/0028-batched-one-statement-writes.md),
 * as gated CTEs: the gate CTE lists the `ordinal` (1-based position in `rows`) of each request to write,
 * the write inserts those requests' rows only, and its `done` CTE lists the ordinals it wrote, one row
 * each. The text must depend on nothing but `gate` (the rows travel as array values), so a batch of any
 * size is one prepared statement.
 */
export type BatchWrite<Row> = Readonly<{
  /** Names the statement: writes with the same name must build the same text. */
  name: string
  build: (rows: readonly Row[], gate: string) => GatedWrite
}>

const parameterPattern = /\$(\d+)/g

/**
 * Joins parts into one statement, renumbering each part's parameters after the parts before it. Parts
 * must not contain `$<digits>` other than parameters (no dollar-quoted strings).
 */
export function joinSqlParts(
  parts: readonly SqlPart[],
  separator: string,
): { text: string; values: unknown[] } {
  const values: unknown[] = []
  const texts = parts.map((part) => {
    const offset = values.length
    values.push(...part.values)
    return part.text.replace(parameterPattern, (_match, digits: string) => {
      const index = Number.parseInt(digits, 10)
      if (index < 1 || index > part.values.length)
        throw new Error(`SQL part refers to $${index} but has ${part.values.length} values`)
      return `$${index + offset}`
    })
  })
  return { text: texts.join(separator), values }
}

/** Chains gated writes: the first is gated on `gate`, each next one on the previous one's `done`. */
export function chainGatedWrites(
  gate: string,
  builders: readonly GatedWriteBuilder[],
): { ctes: SqlPart[]; done: string } {
  const ctes: SqlPart[] = []
  let done = gate
  for (const build of builders) {
    const write = build(done)
    ctes.push(...write.ctes)
    done = write.done
  }
  return { ctes, done }
}
