import { hostname } from 'node:os'
import type pg from 'pg'
import { limits } from '../config/limits.ts'
import type { Pool } from '../db/pool.ts'
import { AssertionFailure } from '../lib/assert.ts'

export type JobRow = {
  id: string
  kind: string
  payload: Record<string, unknown>
  attempts: number
  attemptsMax: number
}

/** A job handler does its side effect from persisted state and must tolerate running twice. */
export type JobHandler = (job: JobRow, signal: AbortSignal) => Promise<void>

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
  private readonly abort = new AbortController()
  private stopping = false
  private wake: (() => void) | undefined
  private listener: pg.PoolClient | undefined
  private loop: Promise<void> | undefined

  constructor(private readonly options: JobRunnerOptions) {}

  async start(): Promise<void> {
    this.listener = await this.options.pool.connect()
    this.listener.on('notification', () => this.wake?.())
    await this.listener.query('listen sluice_jobs')
    this.loop = this.pollLoop()
  }

  /**
   * Stops claiming and waits for running jobs, at most `limits.shutdownGraceMs`; then signals the rest to
   * abort and returns. A job cut short keeps its lease and runs again elsewhere (handlers are idempotent).
   */
  async stop(): Promise<void> {
    this.stopping = true
    this.wake?.()
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
    while (!this.stopping) {
      const free = limits.jobConcurrencyMax - this.running.size
      const claimed = free > 0 ? await this.claim(Math.min(free, limits.jobsClaimedPerPollMax)) : []
      for (const row of claimed) this.track(this.execute(row))
      if (claimed.length === 0 || free <= claimed.length) await this.sleep()
    }
  }

  private track(work: Promise<void>): void {
    this.running.add(work)
    void work.finally(() => {
      this.running.delete(work)
      this.wake?.()
    })
  }

  private async sleep(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.options.pollIntervalMs ?? limits.jobPollIntervalMs)
      this.wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    this.wake = undefined
  }

  private async claim(count: number): Promise<JobRow[]> {
    const kinds = [...this.options.handlers.keys()]
    const result = await this.options.pool.query<ClaimedRow>(
      `update jobs set status = 'running', attempts = attempts + 1, locked_by = $1,
         locked_until = now() + make_interval(secs => $2::double precision / 1000), updated_at = now()
       where id in (
         select id from jobs
         where kind = any($3) and ((status = 'queued' and run_at <= now()) or (status = 'running' and locked_until < now()))
         order by run_at limit $4 for update skip locked)
       returning id, kind, payload, attempts, attempts_max`,
      [this.workerId, limits.jobLeaseMs, kinds, count],
    )
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
