import { performance } from 'node:perf_hooks'
import pg from 'pg'

export type QueryStat = { sql: string; count: number; totalMs: number; maxMs: number }

/**
 * Diagnostic only (`--trace`): wraps pg.Client#query to time every statement from send to result, by
 * statement text (first 80 characters, whitespace folded). Includes waiting in pg's per-client queue,
 * which is empty here: each client runs one statement at a time.
 */
export function installQueryTracer() {
  const stats = new Map<string, QueryStat>()
  let queries = 0
  let queryMs = 0
  const original = pg.Client.prototype.query as (...args: unknown[]) => unknown
  const record = (sql: string, started: number) => {
    const elapsed = performance.now() - started
    const key = sql.replace(/\s+/g, ' ').trim().slice(0, 80)
    const stat = stats.get(key) ?? { sql: key, count: 0, totalMs: 0, maxMs: 0 }
    stat.count += 1
    stat.totalMs += elapsed
    stat.maxMs = Math.max(stat.maxMs, elapsed)
    stats.set(key, stat)
    queries += 1
    queryMs += elapsed
  }
  pg.Client.prototype.query = function traced(this: pg.Client, ...args: unknown[]) {
    const first = args[0]
    const sql = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '?')
    const started = performance.now()
    const last = args.length - 1
    const callback = args[last]
    // pg-pool's pool.query passes a callback; transactions' client.query returns a promise.
    if (typeof callback === 'function') {
      args[last] = (...results: unknown[]) => {
        record(sql, started)
        return (callback as (...values: unknown[]) => unknown)(...results)
      }
      return original.apply(this, args)
    }
    const result = original.apply(this, args)
    if (result instanceof Promise) return result.finally(() => record(sql, started))
    return result
  } as typeof pg.Client.prototype.query
  return {
    counters: () => ({ queries, queryMs }),
    report: () => [...stats.values()].sort((a, b) => b.totalMs - a.totalMs),
  }
}
