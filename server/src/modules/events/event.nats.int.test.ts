import { randomBytes } from 'node:crypto'
import { connect as connectTcp } from 'node:net'
import { connect, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import type { Pool } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { createDispatchEventHandler } from '../../jobs/dispatch-event.ts'
import { findFreePort } from '../../lib/free-port.ts'
import { createLogger } from '../../lib/logger.ts'
import { createNatsEventPublisher, type NatsStreamOptions } from './event.nats.ts'
import { recordEvent, recordEvents } from './event.service.ts'
import type { StoredEvent } from './event.types.ts'

const natsUrl = 'nats://127.0.0.1:4222'
const silent = createLogger('silent')

/** True when something accepts TCP connections on the NATS port (CI machines may have no NATS server). */
async function natsListening(): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port: 4222, timeout: 1_000 })
    const done = (up: boolean) => {
      socket.destroy()
      resolve(up)
    }
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.once('timeout', () => done(false))
  })
}

const natsUp = await natsListening()
if (!natsUp) console.warn(`SKIPPED: NATS JetStream tests need a server at ${natsUrl}; nothing listens there`)

// Each run gets its own stream, so runs (and other suites) sharing the server cannot see each other.
const suffix = randomBytes(4).toString('hex')
const stream: NatsStreamOptions = {
  streamName: `SLUICE_TEST_${suffix}`,
  subjectPrefix: `sluice-test-${suffix}.events`,
}

let database: TestDatabase
let pool: Pool

beforeAll(async () => {
  database = await createTestDatabase()
  pool = database.pool
})
afterAll(async () => {
  await database.drop()
})

async function recordPayment(amount: string): Promise<StoredEvent> {
  return await withTransaction(pool, (client) =>
    recordEvent(client, {
      type: 'payment.finalized',
      merchantId: null,
      subjectId: 'pay_nats',
      payload: { amount },
    }),
  )
}

/** A dispatch handler whose NATS server is a port nothing listens on. */
async function unreachableNatsHandler() {
  return createDispatchEventHandler({
    pool,
    logger: silent,
    natsUrl: `nats://127.0.0.1:${await findFreePort()}`,
    natsStream: stream,
  })
}

describe('dispatch-event when NATS is unreachable', () => {
  it('fails the job (so it retries) and keeps the event', async () => {
    const handler = await unreachableNatsHandler()
    const event = await recordPayment('1')
    const abort = new AbortController()
    const job = {
      id: '1',
      kind: 'dispatch-event',
      payload: { eventId: event.id },
      attempts: 1,
      attemptsMax: 50,
    }
    await expect(handler(job, abort.signal)).rejects.toThrow()
    abort.abort()
    expect((await pool.query('select 1 from events where id = $1', [event.id])).rowCount).toBe(1)
  })

  it('hands each failed event of a shared job (events recorded many at once) to a job of its own and ends the shared job, so the group is not re-sent', async () => {
    const handler = await unreachableNatsHandler()
    await withTransaction(pool, (client) =>
      recordEvents(
        client,
        ['5', '6', '7'].map((amount) => ({
          type: 'payment.initiated' as const,
          merchantId: null,
          subjectId: 'pay_nats_group',
          payload: { amount },
        })),
      ),
    )
    const shared = await pool.query<{ id: string; payload: { eventIds: string[] } }>(
      `select j.id, j.payload from jobs j where j.payload->'eventIds' ?| (
         select array_agg(id) from events where subject_id = 'pay_nats_group')`,
    )
    expect(shared.rows).toHaveLength(1)
    const { id, payload } = shared.rows[0] as { id: string; payload: { eventIds: string[] } }
    expect(payload.eventIds).toHaveLength(3)
    const abort = new AbortController()
    // Resolves: the shared job ends (the runner deletes it) once its events have jobs of their own.
    await handler({ id, kind: 'dispatch-event', payload, attempts: 1, attemptsMax: 50 }, abort.signal)
    abort.abort()
    const own = await pool.query<{ payload: unknown; dedupe_key: string }>(
      'select payload, dedupe_key from jobs where dedupe_key = any($1) order by dedupe_key',
      [payload.eventIds],
    )
    expect(own.rows).toEqual(
      [...payload.eventIds].sort().map((eventId) => ({ payload: { eventId }, dedupe_key: eventId })),
    )
  })
})

describe.skipIf(!natsUp)(`NATS JetStream publishing (needs ${natsUrl})`, () => {
  let reader: NatsConnection

  beforeAll(async () => {
    reader = await connect({ servers: natsUrl, timeout: 5_000 })
  })
  afterAll(async () => {
    await (await reader.jetstreamManager()).streams.delete(stream.streamName).catch(() => false)
    await reader.close()
  })

  async function readStream(max: number) {
    const consumer = await reader.jetstream().consumers.get(stream.streamName)
    const batch = await consumer.fetch({ max_messages: max, expires: 1_000 })
    const messages = []
    for await (const message of batch) {
      messages.push({
        subject: message.subject,
        msgId: message.headers?.get('Nats-Msg-Id'),
        type: message.headers?.get('Sluice-Event-Type'),
        body: message.json<Record<string, unknown>>(),
      })
    }
    return messages
  }

  it('creates the stream, publishes with Nats-Msg-Id = event id, and dedupes a second publish', async () => {
    const publisher = createNatsEventPublisher({ natsUrl, logger: silent, stream })
    try {
      const event = await recordPayment('1000000')
      const first = await publisher.publish(event)
      const second = await publisher.publish(event)
      expect(first.duplicate).toBe(false)
      expect(second).toEqual({ streamSequence: first.streamSequence, duplicate: true })
      const info = await (await reader.jetstreamManager()).streams.info(stream.streamName)
      expect(info.config.subjects).toEqual([`${stream.subjectPrefix}.>`])
      expect(info.state.messages).toBe(1)
      const [message, ...rest] = await readStream(10)
      expect(rest).toEqual([])
      expect(message).toEqual({
        subject: `${stream.subjectPrefix}.payment.finalized`,
        msgId: event.id,
        type: 'payment.finalized',
        body: {
          id: event.id,
          type: 'payment.finalized',
          created_at: event.createdAt.toISOString(),
          sequence: event.sequence,
          merchant_id: null,
          subject_id: 'pay_nats',
          data: { amount: '1000000' },
        },
      })
    } finally {
      await publisher.close()
    }
  })

  it('dispatch-event publishes each event once, however often its job runs', async () => {
    const handler = createDispatchEventHandler({ pool, logger: silent, natsUrl, natsStream: stream })
    const abort = new AbortController()
    const manager = await reader.jetstreamManager()
    const before = (await manager.streams.info(stream.streamName)).state.messages
    const event = await recordPayment('7')
    const job = {
      id: '2',
      kind: 'dispatch-event',
      payload: { eventId: event.id },
      attempts: 1,
      attemptsMax: 50,
    }
    await handler(job, abort.signal)
    await handler(job, abort.signal)
    abort.abort()
    expect((await manager.streams.info(stream.streamName)).state.messages).toBe(before + 1)
    const last = await manager.streams.getMessage(stream.streamName, {
      last_by_subj: `${stream.subjectPrefix}.payment.finalized`,
    })
    expect(last.header.get('Nats-Msg-Id')).toBe(event.id)
  })
})
