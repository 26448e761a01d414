/**
 * Domain events: facts written to the `events` outbox in the transaction of the change they report, then
 * delivered after commit (webhooks, NATS JetStream). Names are `noun.verb_past` and never change meaning:
 * a merchant's integration branches on them. Add new types at the end; never rename or reuse one.
 */
export const eventTypes = [
  'payment.initiated',
  'payment.confirmed',
  'payment.finalized',
  'payment.orphaned',
  'payment.held',
  'invoice.processing',
  'invoice.settled',
  'invoice.expired',
  'invoice.invalid',
  'invoice.paid_partial',
  'invoice.paid_over',
  'invoice.paid_late',
  'refund.opened',
  'payout.sent',
  'payout.received',
  'payout.failed',
  'webhook_endpoint.disabled',
  'treasury.topup_requested',
  'treasury.sweep_to_cold_proposed',
  'refund.payout_requested',
  'reconciliation.incident_opened',
  'reconciliation.incident_cleared',
  'treasury.topup_received',
  'treasury.inflow_booked',
] as const

export type EventType = (typeof eventTypes)[number]

/** Sent to one endpoint on request (sendTest); never fanned out to filters and never on the stream. */
export const testEventType = 'webhook.test'
export type TestEventType = typeof testEventType

/** JSON as the outbox stores it. No bigint and no undefined: amounts travel as decimal strings. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue }

export type EventPayload = { readonly [key: string]: JsonValue }

export type NewEvent = Readonly<{
  type: EventType
  /** The store the event belongs to; null for installation-wide events (stream only, no webhooks). */
  merchantId: string | null
  /** The entity the event is about (`inv_…`, `pay_…`, `po_…`, `whk_…`). */
  subjectId: string | null
  payload: EventPayload
}>

export type StoredEvent = Readonly<{
  id: string
  /** Outbox order (bigint as a decimal string): the order events were committed in, per insert. */
  sequence: string
  // A plain string on read: a row written by a newer version may carry a type this build does not know,
  // and delivery does not depend on the type beyond matching filters.
  type: string
  merchantId: string | null
  subjectId: string | null
  payload: EventPayload
  createdAt: Date
}>

/** What webhook endpoints receive (Standard Webhooks style envelope). */
export type WebhookEnvelope = Readonly<{ id: string; type: string; created_at: string; data: EventPayload }>

/** What the JetStream stream carries: the envelope plus what an operator-side consumer routes on. */
export type StreamMessage = WebhookEnvelope &
  Readonly<{ sequence: string; merchant_id: string | null; subject_id: string | null }>
