import type { FastifyReply, FastifyRequest } from 'fastify'
import type pg from 'pg'
import type { Pool, PoolClient } from '../../db/pool.ts'
import { AppError } from '../../lib/errors.ts'
import type { Logger } from '../../lib/logger.ts'
import { getLastEventSequence, listEventsAfter } from '../../modules/events/event.service.ts'
import type { StoredEvent } from '../../modules/events/event.types.ts'

/**
 * Live updates by server-sent events (docs/adr/0017-dashboard-sessions-and-live-updates.md). One hub per
 * API process tails the events outbox: Postgres NOTIFY on `sluice_jobs` (sent at commit with every event's
 * dispatch job) wakes it, a slow timer reads anyway (a NOTIFY is lost while the listener reconnects), and
 * every stream re-reads its own subject from the database before sending. Nothing a stream sends comes
 * from memory alone, so two API processes behind a balancer show the same thing.
 */
export const liveStreamLimits = {
  /**
   * Open streams per API process (checkout buyers and dashboard screens together). Each holds a socket
   * and re-reads its subject on a matching event; 500 is far above the buyers one gateway has paying at
   * the same minute, and bounds the re-reads one busy block can cause. Past it: 503 with Retry-After, and
   * the page falls back to slow polling.
   */
  streamsMax: 500,
  /** Streams per client address: a page open in a few tabs, not one client holding the whole budget. */
  streamsPerClientMax: 8,
  /** Wake-ups closer together than this are merged into one outbox read (a watcher range writes many). */
  wakeDebounceMs: 200,
  /** The outbox is read at least this often even without NOTIFY (lost notifications, reconnects). */
  fallbackReadMs: 5_000,
  /** A comment line this often keeps proxies and load balancers from closing an idle stream. */
  heartbeatMs: 15_000,
  /**
   * A stream is closed after this long and the browser's EventSource reconnects: a dashboard session
   * that ended stops receiving within this bound, and no socket lives for ever.
   */
  streamLifetimeMs: 10 * 60 * 1000,
  /** Events read per outbox query; a bigger backlog is read in several queries. */
  eventsPerReadMax: 500,
  /**
   * Sequences are taken at insert, not at commit, so a row can appear behind the cursor; each read looks
   * back this many sequences and skips ids already seen.
   */
  lookbackSequences: 200,
  /** Event ids remembered to skip on look-back (LRU); several times lookbackSequences. */
  seenEventsMax: 2_000,
  /** Browsers retry a dropped stream after this long (the `retry:` field). */
  clientRetryMs: 3_000,
} as const

export type LiveSubscriber = Readonly<{
  matches: (event: StoredEvent) => boolean
  /** Called with the matching events of one read (never concurrently for one subscriber). */
  deliver: (events: readonly StoredEvent[]) => Promise<void>
  /** Ends the stream (the process is shutting down). */
  end: () => void
}>

export class LiveEventHub {
  readonly #subscribers = new Set<LiveSubscriber>()
  readonly #perClient = new Map<string, number>()
  #reserved = 0
  readonly #seen = new Map<string, true>()
  #cursor: string | undefined
  #listener: pg.PoolClient | undefined
  #starting: Promise<void> | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  #wakeTimer: ReturnType<typeof setTimeout> | undefined
  #reading: Promise<void> | undefined
  #readAgain = false
  #closed = false

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.#subscribers.size
  }

  /** Reserves a stream slot for a client address, or throws 503 live-streams-exhausted. */
  reserve(client: string): () => void {
    const held = this.#perClient.get(client) ?? 0
    if (this.#reserved >= liveStreamLimits.streamsMax || held >= liveStreamLimits.streamsPerClientMax)
      throw new AppError('live-streams-exhausted', 503, 'too many live streams are open; poll instead')
    this.#perClient.set(client, held + 1)
    this.#reserved += 1
    let released = false
    return () => {
      if (released) return
      released = true
      this.#reserved -= 1
      const now = (this.#perClient.get(client) ?? 1) - 1
      if (now <= 0) this.#perClient.delete(client)
      else this.#perClient.set(client, now)
    }
  }

  async subscribe(subscriber: LiveSubscriber): Promise<() => void> {
    this.#subscribers.add(subscriber)
    await this.#start()
    return () => void this.#subscribers.delete(subscriber)
  }

  /** Ends every stream (before the HTTP server closes: open streams would hold it) and stops reading. */
  async close(): Promise<void> {
    this.#closed = true
    for (const subscriber of this.#subscribers) subscriber.end()
    this.#subscribers.clear()
    clearInterval(this.#timer)
    clearTimeout(this.#wakeTimer)
    await this.#reading
    const listener = this.#listener
    this.#listener = undefined
    if (listener !== undefined) {
      await listener.query('unlisten sluice_jobs').catch(() => {})
      listener.release()
    }
  }

  #start(): Promise<void> {
    this.#starting ??= this.#open().catch((error: unknown) => {
      this.#starting = undefined
      throw error
    })
    return this.#starting
  }

  async #open(): Promise<void> {
    this.#cursor = await getLastEventSequence(this.pool)
    this.#timer = setInterval(() => this.#wake(), liveStreamLimits.fallbackReadMs)
    this.#timer.unref()
    await this.#listen()
  }

  async #listen(): Promise<void> {
    let listener: PoolClient | undefined
    try {
      listener = await this.pool.connect()
      const client = listener
      client.on('notification', (message) => {
        if (message.payload === 'dispatch-event') this.#wake()
      })
      // A broken connection: release it and listen again on the next fallback read. Only while the hub
      // holds it: once close() gave it back, it is the pool's, and releasing it again would throw.
      client.on('error', () => {
        if (this.#listener !== client) return
        this.#listener = undefined
        client.release(true)
      })
      await client.query('listen sluice_jobs')
      this.#listener = client
    } catch (error) {
      if (listener !== undefined && this.#listener !== listener) listener.release(true)
      this.log.warn({ err: error }, 'live updates: LISTEN failed; reading the outbox on a timer only')
    }
  }

  #wake(): void {
    if (this.#closed || this.#wakeTimer !== undefined) return
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined
      void this.#read()
    }, liveStreamLimits.wakeDebounceMs)
  }

  async #read(): Promise<void> {
    if (this.#reading !== undefined) {
      this.#readAgain = true
      return
    }
    this.#reading = this.#readOutbox().finally(() => {
      this.#reading = undefined
    })
    await this.#reading
    if (this.#readAgain && !this.#closed) {
      this.#readAgain = false
      await this.#read()
    }
  }

  async #readOutbox(): Promise<void> {
    if (this.#subscribers.size === 0 || this.#cursor === undefined) return
    if (this.#listener === undefined && !this.#closed) await this.#listen()
    try {
      const from = BigInt(this.#cursor) - BigInt(liveStreamLimits.lookbackSequences)
      const events = await listEventsAfter(
        this.pool,
        (from < 0n ? 0n : from).toString(),
        liveStreamLimits.eventsPerReadMax,
      )
      const fresh = events.filter((event) => !this.#seen.has(event.id))
      for (const event of fresh) this.#remember(event.id)
      const last = events.at(-1)
      if (last !== undefined && BigInt(last.sequence) > BigInt(this.#cursor)) this.#cursor = last.sequence
      if (fresh.length > 0) await this.#dispatch(fresh)
      // A full page means a backlog: keep reading.
      if (events.length === liveStreamLimits.eventsPerReadMax) this.#readAgain = true
    } catch (error) {
      this.log.warn({ err: error }, 'live updates: reading the outbox failed; retrying on the next wake')
    }
  }

  async #dispatch(events: readonly StoredEvent[]): Promise<void> {
    await Promise.all(
      [...this.#subscribers].map(async (subscriber) => {
        const matching = events.filter((event) => subscriber.matches(event))
        if (matching.length === 0) return
        await subscriber.deliver(matching).catch((error: unknown) => {
          this.log.warn({ err: error }, 'live updates: a stream failed to refresh')
        })
      }),
    )
  }

  #remember(id: string): void {
    this.#seen.set(id, true)
    while (this.#seen.size > liveStreamLimits.seenEventsMax) {
      const oldest = this.#seen.keys().next()
      if (oldest.done === true) return
      this.#seen.delete(oldest.value)
    }
  }
}

export type EventStream = Readonly<{
  send: (event: string, data: unknown) => void
  closed: Promise<void>
  close: () => void
}>

/**
 * Turns the reply into a text/event-stream: headers, the client's retry delay, a heartbeat, and an end
 * after streamLifetimeMs (the browser reconnects). `closed` resolves when either side ends it.
 */
export function openEventStream(request: FastifyRequest, reply: FastifyReply): EventStream {
  reply.hijack()
  const raw = reply.raw
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-content-type-options': 'nosniff',
    'x-request-id': request.id,
    // Reverse proxies (nginx) buffer responses unless told not to; a buffered stream is not live.
    'x-accel-buffering': 'no',
  })
  raw.write(`retry: ${liveStreamLimits.clientRetryMs}\n\n`)
  let finish: () => void = () => {}
  const closed = new Promise<void>((resolve) => {
    finish = resolve
  })
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), liveStreamLimits.heartbeatMs)
  const lifetime = setTimeout(() => close(), liveStreamLimits.streamLifetimeMs)
  const close = () => {
    clearInterval(heartbeat)
    clearTimeout(lifetime)
    if (!raw.writableEnded) raw.end()
    finish()
  }
  request.raw.on('close', close)
  return {
    send: (event, data) => {
      if (raw.writableEnded) return
      raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    },
    closed,
    close,
  }
}
