import {
  connect,
  headers,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  NatsError,
  nanos,
  StorageType,
} from 'nats'
import { describeUrlWithoutSecrets, type Logger } from '../../lib/logger.ts'
import { eventLimits } from './event.limits.ts'
import { toStreamMessage } from './event.service.ts'
import type { StoredEvent } from './event.types.ts'

export type NatsStreamOptions = Readonly<{ streamName: string; subjectPrefix: string }>

export type PublishResult = Readonly<{ streamSequence: number; duplicate: boolean }>

export type EventPublisher = Readonly<{
  /** Publishes with `Nats-Msg-Id` = event id; resolves once JetStream has stored (or deduped) it. */
  publish: (event: StoredEvent) => Promise<PublishResult>
  close: () => Promise<void>
}>

// JetStream API error code for "stream not found" (nats-server's JSStreamNotFoundErr).
const streamNotFoundCode = 10059
// Stream retention: consumers down for longer than this must catch up from the `events` table.
const streamMaxAgeMs = 30 * 24 * 3_600_000

type Session = { connection: NatsConnection; jetStream: JetStreamClient }

export const defaultNatsStream: NatsStreamOptions = {
  streamName: eventLimits.natsStreamName,
  subjectPrefix: eventLimits.natsSubjectPrefix,
}

export function eventSubject(stream: NatsStreamOptions, eventType: string): string {
  return `${stream.subjectPrefix}.${eventType}`
}

/** Creates the stream if missing. An existing stream is left as the operator configured it. */
async function ensureStream(manager: JetStreamManager, stream: NatsStreamOptions): Promise<void> {
  try {
    await manager.streams.info(stream.streamName)
  } catch (error) {
    if (!(error instanceof NatsError) || error.api_error?.err_code !== streamNotFoundCode) throw error
    await manager.streams.add({
      name: stream.streamName,
      subjects: [`${stream.subjectPrefix}.>`],
      storage: StorageType.File,
      duplicate_window: nanos(eventLimits.natsDuplicateWindowMs),
      max_age: nanos(streamMaxAgeMs),
    })
  }
}

async function openSession(natsUrl: string, stream: NatsStreamOptions): Promise<Session> {
  const connection = await connect({
    servers: natsUrl,
    name: 'sluice-events',
    timeout: eventLimits.natsTimeoutMs,
    // Reconnects in the background; a publish while disconnected times out and the job retries. Once the
    // client gives up it is closed, and the next publish opens a new session.
    maxReconnectAttempts: 10,
    reconnectTimeWait: 2_000,
  })
  try {
    await ensureStream(await connection.jetstreamManager({ timeout: eventLimits.natsTimeoutMs }), stream)
    return { connection, jetStream: connection.jetstream({ timeout: eventLimits.natsTimeoutMs }) }
  } catch (error) {
    await connection.close().catch(() => {})
    throw error
  }
}

/**
 * A lazily connected JetStream publisher shared by all `dispatch-event` jobs of a worker. Failures
 * surface to the job (which retries), never get swallowed: the event stays in the outbox either way.
 */
export function createNatsEventPublisher(options: {
  natsUrl: string
  logger: Logger
  stream?: NatsStreamOptions
}): EventPublisher {
  const stream = options.stream ?? defaultNatsStream
  let session: Promise<Session> | undefined
  const open = async (): Promise<Session> => {
    const opened = await openSession(options.natsUrl, stream)
    const nats = describeUrlWithoutSecrets(options.natsUrl)
    options.logger.info({ nats, stream: stream.streamName }, 'nats connected')
    return opened
  }
  // One session shared by concurrent jobs. A failed or closed one fails this attempt (the job retries)
  // and is dropped, so the next attempt connects afresh.
  const current = async (): Promise<Session> => {
    if (session === undefined) session = open()
    const pending = session
    try {
      const opened = await pending
      if (opened.connection.isClosed()) throw new Error('nats connection closed')
      return opened
    } catch (error) {
      if (session === pending) session = undefined
      throw error
    }
  }
  return {
    publish: async (event) => {
      const { jetStream } = await current()
      const messageHeaders = headers()
      messageHeaders.set('Sluice-Event-Type', event.type)
      const ack = await jetStream.publish(
        eventSubject(stream, event.type),
        JSON.stringify(toStreamMessage(event)),
        {
          msgID: event.id,
          headers: messageHeaders,
          timeout: eventLimits.natsTimeoutMs,
        },
      )
      return { streamSequence: ack.seq, duplicate: ack.duplicate }
    },
    close: async () => {
      const closing = session
      session = undefined
      const opened = closing === undefined ? undefined : await closing.catch(() => undefined)
      if (opened !== undefined && !opened.connection.isClosed()) await opened.connection.drain()
    },
  }
}
