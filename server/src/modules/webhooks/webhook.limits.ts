import { limits } from '../../config/limits.ts'
import { assert } from '../../lib/assert.ts'

const second = 1_000
const minute = 60 * second
const hour = 60 * minute
const day = 24 * hour

/** Limits of the webhooks module, each with the reason for its value (same convention as config/limits.ts). */
export const webhookLimits = {
  /** Endpoints per store. Bounds the fan-out of one event: one transaction inserts at most this many rows. */
  endpointsPerMerchantMax: 16,
  /** Longest endpoint URL (characters); browsers and proxies commonly cap URLs near 2 kB. */
  urlLengthMax: 2_048,
  /** Longest endpoint description (characters): a label for people, not a document. */
  descriptionLengthMax: 200,
  /**
   * Waits before retry n (after attempt n fails), Svix's schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
   * 10 h. Eight attempts spread over ~27.6 h, so a receiver that is down for a day still gets the event.
   */
  retryScheduleMs: [5 * second, 5 * minute, 30 * minute, 2 * hour, 5 * hour, 10 * hour, 10 * hour],
  /**
   * Jitter applied to each retry wait, as a fraction (±10 %): endpoints that failed together (one outage)
   * do not all retry in the same second. Small enough that the schedule still spans more than a day.
   */
  retryJitterFraction: 0.1,
  /** The whole schedule (with jitter at its lowest) must cover at least this: a receiver down overnight. */
  retryHorizonMsMin: day,
  /**
   * Time allowed for one POST, connect to last byte read. Svix and Stripe give receivers about 15-30 s;
   * a receiver should acknowledge and work asynchronously. Well below jobLeaseMs (asserted below).
   */
  requestTimeoutMs: 15 * second,
  /**
   * A delivery's first attempt is made by the worker that fans the event out, right after the commit
   * (one hop less than a job: docs/adr/0010). Its job is kept, due this much later, in case that worker
   * dies first: longer than an attempt can take (requestTimeoutMs) with room to record it.
   */
  inlineAttemptFallbackMs: 60 * second,
  /**
   * Dispatch jobs a worker claims together, and events it fans out at a time (docs/adr/0010 §2): one event
   * read per batch, one delivery insert and one record of the delivered first attempts per this many events
   * instead of per event (a job may carry several: "Events recorded many at once"). With at most
   * endpointsPerMerchantMax endpoints per event this bounds one insert at 1,024 rows.
   */
  dispatchBatchSizeMax: 64,
  /**
   * Dispatch batches one worker runs at once. Below jobConcurrencyMax (8) so that retries and other
   * kinds of job keep slots while events pour in; 4 × 64 events in flight keep a worker busy.
   */
  dispatchBatchesConcurrentMax: 4,
  /**
   * After a wake-up for dispatch-event, how long a worker waits before claiming (docs/adr/0010, "Batches
   * at moderate rates"). At 1,000 events/s, claiming at once made batches of ~5 events, each paying a
   * claim, two reads, a fan-out, a record and a delete; waiting gathers more events per batch for a few
   * milliseconds of latency against a 200 ms goal. A full claim (a backlog) does not wait.
   */
  dispatchGatherMs: 20,
  /**
   * First attempts one worker has in flight to one endpoint. A receiver is a merchant's server: a burst
   * of events must not open hundreds of sockets to it, and a slow one must not hold every attempt.
   */
  inlineAttemptsPerEndpointMax: 32,
  /**
   * How long a first attempt waits for one of its endpoint's slots. A busy but healthy receiver frees one
   * within milliseconds; one that holds all its slots this long is slow, and the delivery's job is made
   * due at once to attempt it (job slots, not this worker's memory, then bound the wait).
   */
  inlineAttemptSlotWaitMs: 1_000,
  /**
   * How long a dispatch batch waits for its first attempts before giving its job slot back. Healthy
   * receivers answer in milliseconds; a slow one (up to requestTimeoutMs) finishes and is recorded on its
   * own, so it never holds the dispatch of other stores' events.
   */
  inlineAttemptsWaitMs: 2_000,
  /**
   * A delivered first attempt waits at most this long for the rest of its batch, so that all are recorded
   * in one statement (one commit, not one per delivery). Only delays what the delivery log shows.
   */
  inlineRecordGroupMs: 50,
  /** Bytes of a receiver's response body kept per attempt, to show the merchant what their server said. */
  responseExcerptBytesMax: 1_024,
  /** Characters of an attempt's error (the column's CHECK): a class of webhook.failures.ts, asserted there. */
  attemptErrorLengthMax: 500,
  /**
   * An endpoint whose every delivery attempt has failed for this long is disabled (Svix: 5 days), so a
   * dead URL stops costing attempts; the merchant re-enables it after fixing their server.
   */
  endpointDisableAfterMs: 5 * day,
  /** Default overlap of old and new secret after a rotation: both sign, so receivers can switch at leisure. */
  secretRotationOverlapMsDefault: day,
  /** Longest overlap: an old secret that keeps signing for longer is a leaked secret that keeps working. */
  secretRotationOverlapMsMax: 7 * day,
  /**
   * Job-level attempts of one `deliver-webhook` job. Receiver failures follow retryScheduleMs (RetryLater,
   * which does not use these up); only unexpected errors count here, such as the database failing between
   * the POST and recording it.
   */
  deliverJobAttemptsMax: 20,
  /** Attempt series one delivery may have (first + redeliveries): bounds its attempt log. */
  seriesPerDeliveryMax: 50,
  /** Attempts returned with one delivery (newest first): eight per series, a few series. */
  attemptsListedMax: 50,
} as const

/** Attempts of one series: the first plus one per scheduled retry. */
export const deliveryAttemptsMax = webhookLimits.retryScheduleMs.length + 1

// Checked at import, like config/limits.ts's start-up assertions: a bad edit fails every test at once.
assert(
  webhookLimits.requestTimeoutMs < limits.jobLeaseMs,
  'a webhook POST must finish inside a job lease, or a second worker sends it in parallel',
)
assert(
  webhookLimits.retryScheduleMs.reduce((sum, delay) => sum + delay, 0) *
    (1 - webhookLimits.retryJitterFraction) >=
    webhookLimits.retryHorizonMsMin,
  'the webhook retry schedule must span retryHorizonMsMin even with the lowest jitter',
)
assert(
  webhookLimits.dispatchBatchesConcurrentMax < limits.jobConcurrencyMax,
  'dispatch batches may not take every job slot: retries and other jobs would starve',
)
assert(
  webhookLimits.inlineAttemptsWaitMs < webhookLimits.inlineAttemptFallbackMs &&
    webhookLimits.inlineAttemptSlotWaitMs < webhookLimits.inlineAttemptFallbackMs,
  'the fallback job must not fall due while the dispatcher still means to make the first attempt',
)
assert(
  webhookLimits.secretRotationOverlapMsDefault <= webhookLimits.secretRotationOverlapMsMax,
  'the default rotation overlap must be allowed',
)
