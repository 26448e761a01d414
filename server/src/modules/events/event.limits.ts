/** Limits of the events module, each with the reason for its value (same convention as config/limits.ts). */
export const eventLimits = {
  /**
   * Largest serialised event payload (bytes). Events describe one entity with ids and amounts; 64 KiB is
   * far above that and keeps each webhook body and stream message small enough to send in one request.
   */
  payloadBytesMax: 65_536,
  /** Nesting depth of a payload; deeper JSON is a bug in the producer, and the walk stays bounded. */
  payloadDepthMax: 8,
  /**
   * Attempts of one `dispatch-event` job. Its only failing step is the JetStream publish (fan-out is
   * idempotent), and with backoff capped at jobBackoffMsMax (1 h) 50 attempts cover more than a day of NATS
   * being down before the job is `dead` (kept for the operator to requeue).
   */
  dispatchAttemptsMax: 50,
  /**
   * Events one `dispatch-event` job carries when a statement records many (the deposit watcher: 2,000 per
   * catch-up range). A job a row was 15 % of a range's insert (bench/deposits); 32 a job makes it ~1 %,
   * while a failed publish re-sends at most 31 other events (JetStream drops them as duplicates).
   */
  eventsPerDispatchJobMax: 32,
  /** JetStream stream every event is published to. */
  natsStreamName: 'SLUICE_EVENTS',
  /** Subject prefix: an event goes to `<prefix>.<type>`, and the stream captures `<prefix>.>`. */
  natsSubjectPrefix: 'sluice.events',
  /**
   * JetStream's duplicate window for `Nats-Msg-Id`. A re-publish of an event happens when a worker dies
   * between the ack and deleting its job (re-claimed after jobLeaseMs, 1 min) or when an ack is lost and
   * the job retries with backoff; 2 h covers both with margin. NATS advises against very large windows
   * because it keeps every id in memory for the window's length.
   */
  natsDuplicateWindowMs: 7_200_000,
  /** Connect and publish-ack timeout; below jobLeaseMs so a stuck NATS fails the attempt, not the lease. */
  natsTimeoutMs: 10_000,
} as const
