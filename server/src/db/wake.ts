import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { limits } from '../config/limits.ts'
import type { Pool, PoolClient, Queryable } from './pool.ts'

/**
 * Wake-ups for idle workers (`LISTEN sluice_jobs`), sent after the commit that made the work visible
 * instead of inside it (docs/adr/0010). A NOTIFY inside a transaction takes a cluster-wide lock at
 * commit and holds it through the WAL flush, so every notifying commit waits for every other:
 * measured, one NOTIFY per recorded event capped the whole installation near 300 events/s on this
 * machine, whatever the number of connections. Sent afterwards, the wake-up is its own statement with
 * asynchronous commit (losing one in a crash costs a poll interval, never a job), and wake-ups are
 * coalesced into at most one per kind per jobWakeUpIntervalMs: each costs a statement here and a
 * notification in every listening worker.
 */

const channel = 'sluice_jobs'

/** Clients inside withTransaction, with the kinds to wake once their transaction commits. */
const pendingByClient = new WeakMap<PoolClient, { pool: Pool; kinds: Set<string> }>()
/** Per pool, the kinds whose wake-up is already scheduled (it will cover every commit made until then). */
const scheduledByPool = new WeakMap<Pool, Set<string>>()
/** Per pool, when each kind's last wake-up was sent (performance.now()). */
const sentAtByPool = new WeakMap<Pool, Map<string, number>>()

/** withTransaction's side: this client's transaction may defer wake-ups until it commits. */
export function deferWakeUps(client: PoolClient, pool: Pool): void {
  pendingByClient.set(client, { pool, kinds: new Set() })
}

/** withTransaction's side, after COMMIT (`committed`) or ROLLBACK: sends or forgets the wake-ups. */
export function settleWakeUps(client: PoolClient, committed: boolean): void {
  const pending = pendingByClient.get(client)
  pendingByClient.delete(client)
  if (committed && pending !== undefined) for (const kind of pending.kinds) scheduleWakeUp(pending.pool, kind)
}

/**
 * Wakes idle workers for `kind` once what `db` wrote is committed: after the transaction for a client
 * of withTransaction, right away for a pool (its statement committed on its own), and, for any other
 * client (a transaction managed elsewhere), by a NOTIFY in the transaction as before.
 */
export async function wakeWorkers(db: Queryable, kind: string): Promise<void> {
  if (db instanceof pg.Pool) {
    scheduleWakeUp(db, kind)
    return
  }
  const pending = pendingByClient.get(db as PoolClient)
  if (pending !== undefined) {
    pending.kinds.add(kind)
    return
  }
  await db.query(`select pg_notify('${channel}', $1)`, [kind])
}

function scheduleWakeUp(pool: Pool, kind: string): void {
  const scheduled = scheduledByPool.get(pool) ?? new Set<string>()
  scheduledByPool.set(pool, scheduled)
  if (scheduled.has(kind)) return
  scheduled.add(kind)
  const sentAt = sentAtByPool.get(pool) ?? new Map<string, number>()
  sentAtByPool.set(pool, sentAt)
  const send = () => {
    scheduled.delete(kind)
    sentAt.set(kind, performance.now())
    // Asynchronous commit: this statement changes nothing durable, so it need not wait for a WAL flush.
    pool
      .query({
        name: 'wake-workers',
        text: `select set_config('synchronous_commit', 'off', true), pg_notify('${channel}', $1)`,
        values: [kind],
      })
      // Best effort by design: a lost wake-up is found by the workers' next poll.
      .catch(() => {})
  }
  const waitMs =
    (sentAt.get(kind) ?? Number.NEGATIVE_INFINITY) + limits.jobWakeUpIntervalMs - performance.now()
  if (waitMs > 0) setTimeout(send, waitMs)
  else setImmediate(send)
}
