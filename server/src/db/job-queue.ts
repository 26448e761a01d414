import { limits } from '../config/limits.ts'
import type { Queryable } from './pool.ts'
import { wakeWorkers } from './wake.ts'

export type EnqueueOptions = {
  runAt?: Date
  attemptsMax?: number
  /** At most one live job per dedupe key: a second enqueue is a no-op. */
  dedupeKey?: string
}

/**
 * Enqueues a job through `db`. Pass the transaction's client so the job commits (or not) with the state
 * change that caused it. Returns the job id, or null when a live job already holds the dedupe key.
 */
export async function enqueueJob(
  db: Queryable,
  kind: string,
  payload: Record<string, unknown>,
  options: EnqueueOptions = {},
): Promise<string | null> {
  const result = await db.query<{ id: string }>(
    `insert into jobs (kind, payload, run_at, attempts_max, dedupe_key)
     values ($1, $2, coalesce($3, now()), $4, $5)
     on conflict (dedupe_key) do nothing
     returning id`,
    [
      kind,
      JSON.stringify(payload),
      options.runAt ?? null,
      options.attemptsMax ?? limits.jobAttemptsMax,
      options.dedupeKey ?? null,
    ],
  )
  // Wakes idle workers once the job is committed (db/wake.ts); polling still finds it if nobody listens.
  // A job due later needs no wake-up.
  const dueLater = options.runAt !== undefined && options.runAt.getTime() > Date.now()
  if (!dueLater) await wakeWorkers(db, kind)
  return result.rows[0]?.id ?? null
}

/**
 * Enqueues many jobs of one kind, due now, in one statement: for a change that touches many subjects at
 * once (a catch-up range's payments to invoices), where a statement per job made the transaction as long
 * as its round trips. A job whose dedupe key a live job holds is skipped, as with enqueueJob. Returns how
 * many were enqueued.
 */
export async function enqueueJobs(
  db: Queryable,
  kind: string,
  jobs: readonly { payload: Record<string, unknown>; dedupeKey?: string }[],
): Promise<number> {
  if (jobs.length === 0) return 0
  const result = await db.query(
    `insert into jobs (kind, payload, attempts_max, dedupe_key)
     select $1, job -> 'payload', $2, job ->> 'dedupeKey'
       from jsonb_array_elements($3::jsonb) as job
     on conflict (dedupe_key) do nothing`,
    [kind, limits.jobAttemptsMax, JSON.stringify(jobs)],
  )
  const enqueued = result.rowCount ?? 0
  if (enqueued > 0) await wakeWorkers(db, kind)
  return enqueued
}

/** Deletes the queued job holding `dedupeKey` (its work was done another way); false if there was none. */
export async function deleteQueuedJob(db: Queryable, dedupeKey: string): Promise<boolean> {
  const result = await db.query("delete from jobs where dedupe_key = $1 and status = 'queued'", [dedupeKey])
  return result.rowCount === 1
}

/**
 * Makes the job holding `options.dedupeKey` due at `runAt`: enqueues it if there is none, moves it if it is
 * queued, and leaves a running or dead one alone. For work that may or may not have a job already (a
 * webhook's first attempt made inline: docs/adr/0010 §2).
 */
export async function scheduleJob(
  db: Queryable,
  kind: string,
  payload: Record<string, unknown>,
  /** `runAt` null: due now (and workers are woken). */
  options: Readonly<{ dedupeKey: string; runAt: Date | null; attemptsMax: number }>,
): Promise<void> {
  await db.query(
    `insert into jobs (kind, payload, run_at, attempts_max, dedupe_key)
     values ($1, $2, coalesce($3, now()), $4, $5)
     on conflict (dedupe_key) do update set run_at = excluded.run_at, updated_at = now()
       where jobs.status = 'queued'`,
    [kind, JSON.stringify(payload), options.runAt, options.attemptsMax, options.dedupeKey],
  )
  if (options.runAt === null) await wakeWorkers(db, kind)
}

/** Moves the queued job holding `dedupeKey` to `runAt`; false if there was none (already claimed or gone). */
export async function rescheduleQueuedJob(db: Queryable, dedupeKey: string, runAt: Date): Promise<boolean> {
  const result = await db.query(
    "update jobs set run_at = $2, updated_at = now() where dedupe_key = $1 and status = 'queued'",
    [dedupeKey, runAt],
  )
  return result.rowCount === 1
}
