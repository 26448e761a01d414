import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { limits } from '../../server/src/config/limits.ts'
import { createPool, type Pool } from '../../server/src/db/pool.ts'
import { recordEvent } from '../../server/src/modules/events/event.service.ts'
import { createEndpoint } from '../../server/src/modules/webhooks/webhook.service.ts'
import { type BenchChild, type ChildWindow, startChild, windowBetween } from './children.ts'
import { type PhaseLoad, percentile, scratchStore, startPhase } from './setup.ts'

export const webhookDatabase = 'sluice_bench_api_webhooks'
/**
 * Concurrent recorders, each committing one event per statement. With 4, a commit's WAL flush (~10 ms on
 * a busy disk) capped recording near 330 events/s and the recorder, not delivery, was measured; 16 is
 * the receiver baseline's concurrency and lets group commit carry more than the goal's 1,000/s.
 */
const recorderConnections = 16
const runnerCount = 2
/** What the runners can have in flight at once: the baseline loop uses the same concurrency. */
const concurrency = runnerCount * limits.jobConcurrencyMax
const warmupEvents = 300

/**
 * The goal run's offered rate. Issue 5 asks for ≥ 1,000 deliveries/s with p99 ≤ 200 ms (commit → first
 * attempt). Offered at exactly 1,000/s, deliveries/s over the run lands within a fraction of a percent of
 * 1,000 either way, by chance; offered 5 % above, it clears 1,000 only if delivery keeps up with a rate
 * above the goal — a stricter test of both figures than the goal itself.
 */
export const goalRatePerSecond = 1_050

export type WebhookOptions = {
  /** Events of the flat (capacity) run, recorded as fast as the recorder goes; 0 skips it. */
  events: number
  deadlineMs: number
  logLevel: string
  cpuProfileDir: string | undefined
  trace: boolean
  /** The paced (goal) run: events offered at this rate, events per second. */
  pacedRate: number
  /** How long the paced run offers events: pacedRate × pacedSeconds events. */
  pacedSeconds: number
}

type Receiver = { server: Server; port: number; firstSeen: Map<string, number>; received: () => number }

function startReceiver(): Promise<Receiver> {
  const firstSeen = new Map<string, number>()
  let received = 0
  const server = createServer((request, response) => {
    const arrived = performance.now()
    received += 1
    const id = request.headers['webhook-id']
    if (typeof id === 'string' && !firstSeen.has(id)) firstSeen.set(id, arrived)
    request.resume()
    request.on('end', () => response.writeHead(204).end())
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as AddressInfo).port, firstSeen, received: () => received }),
    ),
  )
}

function paymentPayload(index: number) {
  return {
    payment_id: `pay_bench_${index}`,
    network: 'bench',
    chain_id: 31_337,
    asset: 'USDT@bench',
    amount: String(10_000_000 + index),
    tx_hash: `0x${index.toString(16).padStart(64, '0')}`,
    log_index: 0,
    block_number: String(1_000_000 + index),
    from: '0x1111111111111111111111111111111111111111',
    to: '0x2222222222222222222222222222222222222222',
    status: 'confirmed',
    owner: { kind: 'invoice', id: `inv_bench_${index}` },
  }
}

/** The baseline: `count` POSTs of a webhook-sized body from this process, `concurrency` at a time. */
async function baselinePosts(port: number, count: number) {
  const body = JSON.stringify({
    id: 'evt_baseline',
    type: 'payment.confirmed',
    created_at: new Date().toISOString(),
    data: paymentPayload(0),
  })
  const latencies: number[] = []
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next
        next += 1
        const sent = performance.now()
        const response = await fetch(`http://127.0.0.1:${port}/baseline`, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Sluice-Bench/1',
            'webhook-id': `base_${index}`,
            'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
          },
        })
        await response.arrayBuffer()
        latencies.push(performance.now() - sent)
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  return { perSecond: count / seconds, p99Ms: percentile(latencies, 99) }
}

/**
 * Records `count` events, each in its own committed transaction (recordEvent: one statement that also
 * enqueues the dispatch job; the wake-up follows the commit), from `recorderConnections` connections;
 * `ratePerSecond` > 0 paces them.
 * Returns each event's commit time (performance.now(), right after COMMIT returned).
 */
async function recordEvents(
  pool: Pool,
  merchantId: string,
  count: number,
  ratePerSecond: number,
  deadlineMs: number,
): Promise<Map<string, number>> {
  const committed = new Map<string, number>()
  const started = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: recorderConnections }, async () => {
      while (next < count && performance.now() - started < deadlineMs) {
        const index = next
        next += 1
        if (ratePerSecond > 0) {
          const due = started + (index * 1000) / ratePerSecond
          if (due > performance.now())
            await new Promise((resolve) => setTimeout(resolve, due - performance.now()))
        }
        // recordEvent is one statement (event, dispatch job): on the pool it is its own committed
        // transaction, as in a business transaction, without BEGIN/COMMIT round trips that would make
        // the recorder, not the delivery, the limit.
        const event = await recordEvent(pool, {
          type: 'payment.confirmed',
          merchantId,
          subjectId: `pay_bench_${index}`,
          payload: paymentPayload(index),
        })
        committed.set(event.id, performance.now())
      }
    }),
  )
  return committed
}

/**
 * Counts the wake-up statements (db/wake.ts, `wake-workers`) sent through `pool`: each is a round trip
 * and a NOTIFY to every listening worker, on top of the events' own statements.
 */
function countWakeUps(pool: Pool): { count: () => number } {
  let wakeUps = 0
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown
  Object.assign(pool, {
    query: (...args: unknown[]) => {
      if ((args[0] as { name?: string } | undefined)?.name === 'wake-workers') wakeUps += 1
      return query(...args)
    },
  })
  return { count: () => wakeUps }
}

async function waitDelivered(receiver: Receiver, ids: Iterable<string>, deadlineMs: number): Promise<void> {
  const pending = new Set(ids)
  const started = performance.now()
  while (pending.size > 0 && performance.now() - started < deadlineMs) {
    for (const id of pending) if (receiver.firstSeen.has(id)) pending.delete(id)
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Largest queued/running job count per kind, sampled every 100 ms. */
function sampleBacklog(pool: Pool): { stop: () => Promise<Record<string, number>> } {
  const maxima: Record<string, number> = {}
  let running = true
  const loop = (async () => {
    while (running) {
      const result = await pool.query<{ kind: string; status: string; count: number }>(
        'select kind, status, count(*)::int as count from jobs group by 1, 2',
      )
      for (const row of result.rows) {
        const key = `${row.kind} ${row.status}`
        maxima[key] = Math.max(maxima[key] ?? 0, row.count)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return maxima
    },
  }
}

export type StageStats = { p50: number; p99: number }
export type DeliveryRun = {
  events: number
  delivered: number
  recordedPerSecond: number
  /** Delivered events ÷ `seconds`. */
  deliveriesPerSecond: number
  /** First commit → last first attempt received. */
  seconds: number
  latencyP50Ms: number
  latencyP99Ms: number
  latencyMaxMs: number
  /** commit → fan-out start (dispatch job), fan-out start → attempt start, attempt start → received. */
  stages: Record<'commitToFanOut' | 'fanOutToAttempt' | 'attemptToReceived', StageStats>
  /** Wake-up statements the recorder sent after its commits (db/wake.ts). */
  recorderWakeUps: number
  /** Events per second the recorder was paced at; 0: as fast as it could. */
  pacedRate: number
  backlogMax: Record<string, number>
  runners: ChildWindow[]
  phase: PhaseLoad
}

async function stageBreakdown(pool: Pool, committed: Map<string, number>, receiver: Receiver) {
  const result = await pool.query<{ id: string; fan_out_ms: number; attempt_ms: number }>(
    `select d.event_id as id, extract(epoch from d.created_at) * 1000 as fan_out_ms,
            extract(epoch from a.started_at) * 1000 as attempt_ms
     from webhook_deliveries d join webhook_delivery_attempts a on a.delivery_id = d.id and a.attempt = 1
     where d.event_id = any($1)`,
    [[...committed.keys()]],
  )
  const stages = {
    commitToFanOut: [] as number[],
    fanOutToAttempt: [] as number[],
    attemptToReceived: [] as number[],
  }
  for (const row of result.rows) {
    const commit = committed.get(row.id)
    const seen = receiver.firstSeen.get(row.id)
    if (commit === undefined || seen === undefined) continue
    stages.commitToFanOut.push(row.fan_out_ms - (performance.timeOrigin + commit))
    stages.fanOutToAttempt.push(row.attempt_ms - row.fan_out_ms)
    stages.attemptToReceived.push(performance.timeOrigin + seen - row.attempt_ms)
  }
  const summary = (values: number[]): StageStats => ({
    p50: percentile(values, 50),
    p99: percentile(values, 99),
  })
  return {
    commitToFanOut: summary(stages.commitToFanOut),
    fanOutToAttempt: summary(stages.fanOutToAttempt),
    attemptToReceived: summary(stages.attemptToReceived),
  }
}

async function deliveryRun(
  context: {
    pool: Pool
    recorder: Pool
    recorderWakeUps: { count: () => number }
    merchantId: string
    receiver: Receiver
    runners: BenchChild[]
  },
  options: WebhookOptions & { events: number },
  ratePerSecond: number,
): Promise<DeliveryRun> {
  const { pool, recorder, merchantId, receiver, runners } = context
  const phase = await startPhase(webhookDatabase, [
    'sluice-bench-recorder',
    ...runners.map((_, index) => `sluice-bench-runner-${index + 1}`),
  ])
  const backlog = sampleBacklog(pool)
  const before = await Promise.all(runners.map((runner) => runner.snapshot()))
  const wakeUpsBefore = context.recorderWakeUps.count()
  const started = performance.now()
  const committed = await recordEvents(
    recorder,
    merchantId,
    options.events,
    ratePerSecond,
    options.deadlineMs,
  )
  const recordedSeconds = (performance.now() - started) / 1000
  await waitDelivered(receiver, committed.keys(), options.deadlineMs)
  const latencies: number[] = []
  let firstCommit = Number.POSITIVE_INFINITY
  let lastSeen = started
  for (const [id, commit] of committed) {
    firstCommit = Math.min(firstCommit, commit)
    const seen = receiver.firstSeen.get(id)
    if (seen === undefined) continue
    latencies.push(seen - commit)
    lastSeen = Math.max(lastSeen, seen)
  }
  // Delivered events over the time from the first commit to the last first attempt received: what the
  // receiver actually got per second, never the rate the events were offered at.
  const seconds = (lastSeen - Math.min(firstCommit, lastSeen)) / 1000
  const after = await Promise.all(runners.map((runner) => runner.snapshot()))
  return {
    events: committed.size,
    delivered: latencies.length,
    recordedPerSecond: committed.size / recordedSeconds,
    pacedRate: ratePerSecond,
    recorderWakeUps: context.recorderWakeUps.count() - wakeUpsBefore,
    deliveriesPerSecond: latencies.length / Math.max(seconds, 1e-9),
    seconds,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    latencyMaxMs: latencies.reduce((max, value) => Math.max(max, value), 0),
    stages: await stageBreakdown(pool, committed, receiver),
    backlogMax: await backlog.stop(),
    runners: after.map((snapshot, index) => windowBetween(before[index] ?? snapshot, snapshot, seconds)),
    phase: await phase.stop(),
  }
}

export type WebhookResult = {
  runnerCount: number
  concurrency: number
  recorderConnections: number
  baseline: { perSecond: number; p99Ms: number }
  /** The goal run: events offered at a fixed rate (goalRatePerSecond unless told otherwise). */
  paced: DeliveryRun
  /** The capacity run: events recorded as fast as the recorder goes (undefined when skipped). */
  flat: DeliveryRun | undefined
  receivedTotal: number
  runnerStats: unknown[]
}

/**
 * Webhook delivery end to end, while 2 worker processes run dispatch-event and deliver-webhook against a
 * local receiver: first a flat run (capacity: events recorded as fast as `recorderConnections` go), then
 * the goal run (events offered at `pacedRate` per second for `pacedSeconds`). Baseline: the receiver hit
 * directly from this process at the runners' concurrency.
 */
export async function benchWebhooks(options: WebhookOptions): Promise<WebhookResult> {
  const store = await scratchStore(webhookDatabase)
  const recorder = createPool(store.url, {
    sizeMax: recorderConnections,
    applicationName: 'sluice-bench-recorder',
  })
  const receiver = await startReceiver()
  const runners: BenchChild[] = []
  try {
    await baselinePosts(receiver.port, 1000) // warm-up: JIT, keep-alive sockets
    const baseline = await baselinePosts(receiver.port, options.events)
    await createEndpoint(store.pool, {
      merchantId: store.merchantId,
      url: `http://127.0.0.1:${receiver.port}/hooks`,
      eventFilter: '*',
      allowInsecure: true,
    })
    for (let index = 0; index < runnerCount; index += 1) {
      runners.push(
        await startChild(
          'runner-child.ts',
          [store.url, `runner-${index + 1}`, options.logLevel, ...(options.trace ? ['trace'] : [])],
          { cpuProfileDir: options.cpuProfileDir },
        ),
      )
    }
    const context = {
      pool: store.pool,
      recorder,
      recorderWakeUps: countWakeUps(recorder),
      merchantId: store.merchantId,
      receiver,
      runners,
    }
    const warmup = await recordEvents(recorder, store.merchantId, warmupEvents, 0, options.deadlineMs)
    await waitDelivered(receiver, warmup.keys(), options.deadlineMs)
    // Capacity first, so the goal run starts on a database that already holds the flat run's rows (as a
    // running installation would), not on a fresh one.
    const flat = options.events > 0 ? await deliveryRun(context, options, 0) : undefined
    if (flat !== undefined)
      console.error(
        `webhooks flat: ${flat.delivered}/${flat.events} delivered, ${flat.deliveriesPerSecond.toFixed(0)}/s, p99 ${flat.latencyP99Ms.toFixed(0)} ms`,
      )
    const paced = await deliveryRun(
      context,
      { ...options, events: Math.round(options.pacedRate * options.pacedSeconds) },
      options.pacedRate,
    )
    console.error(
      `webhooks paced at ${options.pacedRate}/s: ${paced.delivered}/${paced.events} delivered, ${paced.deliveriesPerSecond.toFixed(0)}/s, p99 ${paced.latencyP99Ms.toFixed(0)} ms`,
    )
    const runnerStats = []
    for (const runner of runners.splice(0)) runnerStats.push(await runner.stop())
    return {
      runnerCount,
      concurrency,
      recorderConnections,
      baseline,
      flat,
      paced,
      receivedTotal: receiver.received(),
      runnerStats,
    }
  } finally {
    for (const runner of runners) runner.child.kill()
    receiver.server.close()
    receiver.server.closeAllConnections()
    await recorder.end()
    await store.pool.end()
  }
}
