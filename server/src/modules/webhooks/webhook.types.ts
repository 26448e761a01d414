import type { EventType } from '../events/event.types.ts'
import type { DeliveryError } from './webhook.failures.ts'

/** Which events an endpoint receives: every type, or the listed ones. */
export type EventFilter = '*' | readonly EventType[]

/** Why an endpoint is off: its owner turned it off, or it failed for endpointDisableAfterMs. */
export type DisabledReason = 'manual' | 'failing'

/** An endpoint as shown to its merchant. The secret is never part of it: it is shown once, at creation or rotation. */
export type WebhookEndpoint = Readonly<{
  id: string
  merchantId: string
  url: string
  description: string
  eventFilter: EventFilter
  /** Allows http:// to loopback/private hosts and link-local targets; for local development only. */
  allowInsecure: boolean
  /** Allows loopback and private hosts over https: registered while the gateway allowed local receivers. */
  allowLocal: boolean
  enabled: boolean
  disabledReason: DisabledReason | null
  disabledAt: Date | null
  /** Since when every attempt has failed; null while the endpoint is healthy. */
  failingSince: Date | null
  /** While set and in the future, the previous secret still signs alongside the current one. */
  previousSecretExpiresAt: Date | null
  createdAt: Date
  updatedAt: Date
}>

/** Returned once, by createEndpoint and rotateSecret: `whsec_` + base64 of 32 random bytes. */
export type EndpointWithSecret = Readonly<{ endpoint: WebhookEndpoint; secret: string }>

export type DeliveryStatus = 'pending' | 'delivered' | 'dead'

export type WebhookDelivery = Readonly<{
  id: string
  endpointId: string
  eventId: string
  eventType: string
  status: DeliveryStatus
  /** Attempt series: 1 for the first, +1 per redelivery. `webhook-id` stays the event id throughout. */
  series: number
  /** Attempts made in the current series. */
  attempts: number
  nextAttemptAt: Date | null
  lastAttemptAt: Date | null
  lastStatusCode: number | null
  /** Why the last attempt got no answer (a class of webhook.failures.ts); null when it got one. */
  lastError: DeliveryError | null
  deliveredAt: Date | null
  createdAt: Date
}>

export type DeliveryAttempt = Readonly<{
  id: string
  deliveryId: string
  series: number
  attempt: number
  startedAt: Date
  durationMs: number
  /** HTTP status, or null when no response arrived (see error). */
  statusCode: number | null
  /** Why no response arrived: `connection-refused`, `timeout`, … (webhook.failures.ts); null when one did. */
  error: DeliveryError | null
  responseExcerpt: string | null
}>

export type CreateEndpointInput = Readonly<{
  merchantId: string
  url: string
  eventFilter: EventFilter
  description?: string
  allowInsecure?: boolean
  /** The gateway allows local receivers (config webhooks.allowLocalEndpoints). */
  allowLocal?: boolean
}>

export type UpdateEndpointInput = Readonly<{
  merchantId: string
  endpointId: string
  url?: string
  eventFilter?: EventFilter
  description?: string
  allowInsecure?: boolean
  allowLocal?: boolean
  enabled?: boolean
}>

export type ListDeliveriesInput = Readonly<{
  merchantId: string
  endpointId?: string
  eventId?: string
  status?: DeliveryStatus
  /** Page size; defaults to pageSizeDefault, at most pageSizeMax. */
  limit?: number
  /** `nextCursor` of the previous page. */
  cursor?: string
}>

export type DeliveryPage = Readonly<{ deliveries: readonly WebhookDelivery[]; nextCursor: string | null }>

/** Resolves a host name to IP addresses (dns.lookup with all: true); injectable for tests. */
export type ResolveHost = (host: string) => Promise<readonly string[]>
