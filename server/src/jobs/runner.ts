import { hostname } from 'node:os'
import type pg from 'pg'
import { limits } from '../config/limits.ts'
import type { Pool } from '../db/pool.ts'
import { AssertionFailure, assert } from '../lib/assert.ts'

export type JobRow = {
  id: string
  kind: string
  payload: Record<string, unknown>
  attempts: number
  attemptsMax: number
}

/**
 * Runs many jobs of one kind at once. Returns the jobs that failed (job id → error); the rest succeeded.
 * Throwing fails them all. Each job must still tolerate running twice, alone or in another batch.
 */
export type BatchJobHandler = (
  jobs: readonly JobRow[],
  signal: AbortSignal,
) => Promise<ReadonlyMap<string, unknown>>

export type JobBatching = Readonly<{
  handle: BatchJobHandler
  /** Jobs claimed (and finished) together: one claim and one delete for up to this many. */
  sizeMax: number
  /** Batches of this kind running at once per runner; below jobConcurrencyMax so other kinds keep slots. */
  concurrencyMax: number
  /**
   * After a wake-up for this kind, how long the runner waits before claiming, so that jobs trickling in
   * are claimed as one batch rather than one claim each (0 or unset: claim at once). A claim that came
   * back full does not wait: a backlog is claimed at once.
   */
  gatherMs?: number
}>

/**
 * A job handler does its side effect from persisted state and must tolerate running twice. One carrying
 * `batch` is run by the runner through `batch.handle`, many jobs per claim (see batchedJobHandler).
 */
export type JobHandler = ((job: JobRow, signal: AbortSignal) => Promise<void>) & {
  readonly batch?: JobBatching
}

/**
 * A handler whose jobs the runner claims and finishes in batches. Called directly with one job (tests,
 * callers that know nothing of batches) it is a batch of one, and throws that job's failure.
 */
export function batchedJobHandler(batching: JobBatching): JobHandler {
  assert(
    batching.concurrencyMax >= 1 && batching.concurrencyMax < limits.jobConcurrencyMax,
    'batches may not take every job slot: other kinds would starve',
  )
  assert(batching.sizeMax >= 1, 'a batch holds at least one job')
  const single = async (job: JobRow, signal: AbortSignal) => {
    const failures = await batching.handle([job], signal)
    if (failures.has(job.id)) throw failures.get(job.id)
  }
  return Object.assign(single, { batch: batching })
}

/** Thrown by a handler to ask for another attempt at a given time without counting as a failure log. */
export class RetryLater extends Error {
  constructor(
    readonly delayMs: number,
    message = 'retry later',
  ) {
    super(message)
  }
}

export type JobRunnerLog = {
  info: (object: object, message: string) => void
  warn: (object: object, message: string) => void
  error: (object: object, message: string) => void
}

export type JobRunnerOptions = {
  pool: Pool
  handlers: ReadonlyMap<string, JobHandler>
  log: JobRunnerLog
  onFatal: (error: unknown) => void
  pollIntervalMs?: number
}

type ClaimedRow = {
  id: string
  kind: string
  payload: Record<string, unknown>
  attempts: number
  attempts_max: number
}

/** Jobs to claim in one go: single jobs of several kinds, or one batch of a batched kind. */
type ClaimGroup = {
  kinds: readonly string[]
  count: number
  batching?: JobBatching
  /** Set after the claim: it returned `count` rows, so more may be due. */
  full: boolean
}

/** Exponential backoff with full jitter, capped (attempt 1 → up to 1 s, 2 → 2 s, …). */
export function retryDelayMs(attempt: number, randomUnit: number): number {
  const ceilingMs = Math.min(limits.jobBackoffMsMax, 1000 * 2 ** Math.min(attempt - 1, 30))
  return Math.floor(ceilingMs * (0.5 + randomUnit / 2))
}

/**
 * Claims jobs with FOR UPDATE SKIP LOCKED under a lease, runs at most `jobConcurrencyMax` at once, and on
 * stop() finishes what it holds before resolving (SIGTERM drain). A worker killed outright loses its
 * leases; the jobs are claimed again when the lease expires, so handlers must be idempotent.
 */
export class JobRunner {
  private readonly workerId = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`
  private readonly running = new Set<Promise<void>>()
  private readonly batchesRunning = new Map<string, number>()
  private readonly abort = new AbortController()
  private stopping = false
  private nudged = false
  /** Longest gatherMs of the batched kinds woken since the last claim (0: claim at once). */
  private gatherMs = 0
  private wake: (() => void) | undefined
  private listener: pg.PoolClient | undefined
  private loop: Promise<void> | undefined

  constructor(private readonly options: JobRunnerOptions) {}

  async start(): Promise<void> {
    this.listener = await this.options.pool.connect()
    this.listener.on('notification', (message) => this.nudge(message.payload))
    await this.listener.query('listen sluice_jobs')
    this.loop = this.pollLoop()
  }

  /**
   * Stops claiming and waits for running jobs, at most `limits.shutdownGraceMs`; then signals the rest to
   * abort and returns. A job cut short keeps its lease and runs again elsewhere (handlers are idempotent).
   */
  async stop(): Promise<void> {
    this.stopping = true
    this.nudge()
    await this.loop
    const drained = Promise.allSettled([...this.running])
    const grace = new Promise<'late'>((resolve) =>
      setTimeout(() => resolve('late'), limits.shutdownGraceMs).unref(),
    )
    if ((await Promise.race([drained, grace])) === 'late') {
      this.options.log.warn(
        { running: this.running.size },
        'jobs still running after the shutdown grace: aborting them',
      )
    }
    this.abort.abort()
    if (this.listener !== undefined) {
      await this.listener.query('unlisten sluice_jobs').catch(() => {})
      this.listener.release()
    }
  }

  get inFlightCount(): number {
    return this.running.size
  }

  private async pollLoop(): Promise<void> {
    const singleKinds = [...this.options.handlers]
      // A handler may be missing from a map that lies about its kinds (tests): then it is a single kind.
      .filter(([, handler]) => handler?.batch === undefined)
      .map(([kind]) => kind)
    while (!this.stopping) {
      const groups = this.claimGroups(singleKinds)
      const claimed = groups.length === 0 ? [] : await this.claim(groups)
      for (const [index, group] of groups.entries()) {
        const rows = claimed.filter((row) => group.kinds.includes(row.kind))
        if (group.batching === undefined) for (const row of rows) this.track(this.execute(row))
        else if (rows.length > 0) this.trackBatch(group.kinds[0] ?? '', group.batching, rows)
        // A full claim may have left more due jobs behind: claim again at once while slots are free.
        groups[index] = { ...group, full: rows.length === group.count }
      }
      const free = limits.jobConcurrencyMax - this.running.size
      if (free <= 0 || !groups.some((group) => group.full)) await this.sleep()
    }
  }

  /**
   * What to claim now, all in one statement: up to `free` single jobs, and one batch per batched kind with
   * a free batch slot. Each batch takes one job slot, so the singles get what the batches leave.
   */
  private claimGroups(singleKinds: readonly string[]): ClaimGroup[] {
    let free = limits.jobConcurrencyMax - this.running.size
    const groups: ClaimGroup[] = []
    for (const [kind, handler] of this.options.handlers) {
      const batching = handler?.batch
      if (batching === undefined || free <= 0) continue
      if ((this.batchesRunning.get(kind) ?? 0) >= batching.concurrencyMax) continue
      groups.push({ kinds: [kind], count: batching.sizeMax, batching, full: false })
      free -= 1
    }
    if (free > 0 && singleKinds.length > 0)
      groups.push({ kinds: singleKinds, count: Math.min(free, limits.jobsClaimedPerPollMax), full: false })
    return groups
  }

  private trackBatch(kind: string, batching: JobBatching, jobs: readonly JobRow[]): void {
    this.batchesRunning.set(kind, (this.batchesRunning.get(kind) ?? 0) + 1)
    this.track(
      this.executeBatch(batching, jobs).finally(() =>
        this.batchesRunning.set(kind, (this.batchesRunning.get(kind) ?? 1) - 1),
      ),
    )
  }

  private track(work: Promise<void>): void {
    this.running.add(work)
    void work.finally(() => {
      this.running.delete(work)
      this.nudge()
    })
  }

  /**
   * Wakes the poll loop, or, if it is busy claiming, makes its next sleep return at once: a NOTIFY that
   * arrives during a claim is not lost until the next poll interval. `kind`: the NOTIFY's job kind; a
   * batched kind that gathers makes the next claim wait for more of its jobs.
   */
  private nudge(kind?: string): void {
    const gatherMs = kind === undefined ? undefined : this.options.handlers.get(kind)?.batch?.gatherMs
    if (gatherMs !== undefined) this.gatherMs = Math.max(this.gatherMs, gatherMs)
    this.nudged = true
    this.wake?.()
  }

  private async sleep(): Promise<void> {
    if (!this.nudged)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollIntervalMs ?? limits.jobPollIntervalMs)
        this.wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    this.wake = undefined
    // Wake-ups during the wait need no new claim: the claim that follows sees every job committed so far.
    if (this.gatherMs > 0 && !this.stopping)
      await new Promise((resolve) => setTimeout(resolve, this.gatherMs))
    this.gatherMs = 0
    this.nudged = false
  }

  /**
   * Claims every group in one statement (one commit), each group its expired leases first (so a backlog
   * of due jobs cannot starve them), then its oldest due jobs. Each part is its own ordered index scan
   * that stops at the group's count (`jobs_due_idx`, `jobs_lease_idx`): one scan with `or` became a
   * bitmap scan over every due and every dead entry, ~45 ms per claim after 10,000 events
   * (docs/adr/0010, "Cost per event"). Prepared once per shape and connection.
   */
  private async claim(groups: readonly ClaimGroup[]): Promise<JobRow[]> {
    const picks = groups.map((group, index) => {
      const kind = group.kinds.length === 1 ? `kind = $${3 + 2 * index}` : `kind = any($${3 + 2 * index})`
      const count = `$${4 + 2 * index}::int`
      return `l${index} as (select id from jobs where status = 'running' and locked_until < now() and ${kind}
           order by locked_until limit ${count} for update skip locked),
         q${index} as (select id from jobs where status = 'queued' and run_at <= now() and ${kind}
           order by run_at limit greatest(0, ${count} - (select count(*) from l${index})) for update skip locked)`
    })
    const text = `with ${picks.join(', ')}
       update jobs set status = 'running', attempts = attempts + 1, locked_by = $1,
         locked_until = now() + make_interval(secs => $2::double precision / 1000), updated_at = now()
       where id in (${groups.map((_, index) => `select id from l${index} union all select id from q${index}`).join(' union all ')})
       returning id, kind, payload, attempts, attempts_max`
    const result = await this.options.pool.query<ClaimedRow>({
      name: `job-claim-${groups.map((group) => (group.kinds.length === 1 ? '1' : 'n')).join('')}`,
      text,
      values: [
        this.workerId,
        limits.jobLeaseMs,
        ...groups.flatMap((group) => [group.kinds.length === 1 ? group.kinds[0] : group.kinds, group.count]),
      ],
    })
    return result.rows.map((row) => ({ ...row, attemptsMax: row.attempts_max }))
  }

  private async execute(job: JobRow): Promise<void> {
    const handler = this.options.handlers.get(job.kind)
    try {
      if (handler === undefined) throw new AssertionFailure(`no handler for claimed job kind ${job.kind}`)
      await handler(job, this.abort.signal)
      await this.options.pool.query('delete from jobs where id = $1 and locked_by = $2', [
        job.id,
        this.workerId,
      ])
    } catch (error) {
      if (error instanceof AssertionFailure) {
        this.options.onFatal(error)
        return
      }
      await this.recordFailure(job, error)
    }
  }

  /** One delete for the batch's succeeded jobs; failures are recorded one by one (they are rare). */
  private async executeBatch(batching: JobBatching, jobs: readonly JobRow[]): Promise<void> {
    let failures: ReadonlyMap<string, unknown>
    try {
      failures = await batching.handle(jobs, this.abort.signal)
    } catch (error) {
      failures = new Map(jobs.map((job) => [job.id, error]))
    }
    const fatal = [...failures.values()].find((error) => error instanceof AssertionFailure)
    if (fatal !== undefined) {
      this.options.onFatal(fatal)
      return
    }
    const done = jobs.filter((job) => !failures.has(job.id)).map((job) => job.id)
    if (done.length > 0)
      await this.options.pool.query('delete from jobs where id = any($1::bigint[]) and locked_by = $2', [
        done,
        this.workerId,
      ])
    for (const job of jobs) if (failures.has(job.id)) await this.recordFailure(job, failures.get(job.id))
  }

  private async recordFailure(job: JobRow, error: unknown): Promise<void> {
    const retry = error instanceof RetryLater
    const dead = !retry && job.attempts >= job.attemptsMax
    const delayMs = retry ? error.delayMs : retryDelayMs(job.attempts, Math.random())
    const message = error instanceof Error ? error.message : String(error)
    if (!retry)
      this.options.log.warn(
        { jobId: job.id, kind: job.kind, attempt: job.attempts, dead, err: message },
        'job failed',
      )
    await this.options.pool.query(
      `update jobs set status = $3, locked_by = null, locked_until = null, last_error = $4, updated_at = now(),
         attempts = attempts - $6::int, run_at = now() + make_interval(secs => $5::double precision / 1000)
       where id = $1 and locked_by = $2`,
      [job.id, this.workerId, dead ? 'dead' : 'queued', message.slice(0, 2000), delayMs, retry ? 1 : 0],
    )
  }
}
