import { z } from 'zod'
import { named, pageQuerySchema, pageSchema, prefixedIdSchema, timestampSchema } from './common.ts'
import { defineOperation, type ErrorSpec } from './operation.ts'

/**
 * Webhook endpoints and their deliveries. Signing secrets appear in two responses only (create and
 * rotate-secret), once; they are never listed and never kept in idempotency records.
 */

/**
 * Event types an endpoint can subscribe to. A copy of the server's `eventTypes` (the SDK cannot import the
 * server); a server unit test asserts the two lists are equal. New types are appended, never renamed.
 */
export const webhookEventTypes = [
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

export type WebhookEventType = (typeof webhookEventTypes)[number]

/** Copies of the server's webhookLimits the wire validates against (asserted equal by a server test). */
export const webhookEndpointsPerStoreMax = 16
export const webhookUrlLengthMax = 2_048
export const webhookDescriptionLengthMax = 200
export const webhookRotationOverlapSecondsDefault = 86_400
export const webhookRotationOverlapSecondsMax = 7 * 86_400

export const webhookEventTypeSchema = named(
  z.enum(webhookEventTypes),
  'WebhookEventType',
  'A kind of event an endpoint can receive.',
)

export const webhookEventFilterSchema = named(
  z.union([
    z.literal('*'),
    z
      .array(webhookEventTypeSchema)
      .min(1)
      .max(webhookEventTypes.length)
      .refine((types) => new Set(types).size === types.length, 'event types must not repeat'),
  ]),
  'WebhookEventFilter',
  'Which events the endpoint receives: "*" for every type (including ones added later), or a list.',
)

export const webhookEndpointIdSchema = prefixedIdSchema('whk')
export const webhookDeliveryIdSchema = prefixedIdSchema('whd')
const eventIdSchema = prefixedIdSchema('evt')

export const webhookEndpointSchema = named(
  z.object({
    id: webhookEndpointIdSchema,
    url: z
      .string()
      .describe(
        'Where events are POSTed. A password in the URL is shown as "***"; send the full URL to change it.',
      ),
    description: z.string(),
    event_filter: webhookEventFilterSchema,
    enabled: z
      .boolean()
      .describe('False when turned off by its owner, or by the gateway after failing for days.'),
    disabled_reason: z.enum(['manual', 'failing']).nullable(),
    disabled_at: timestampSchema.nullable(),
    failing_since: timestampSchema
      .nullable()
      .describe('Since when every attempt has failed; null while healthy.'),
    allow_insecure: z
      .boolean()
      .describe('Set by the operator for local development only (http:// to private hosts).'),
    previous_secret_expires_at: timestampSchema
      .nullable()
      .describe('After a rotation: until then the previous secret signs too, as a second signature.'),
    created_at: timestampSchema,
    updated_at: timestampSchema,
  }),
  'WebhookEndpoint',
  'A URL that receives signed event notifications (Standard Webhooks). Never includes its secret.',
)

export const webhookEndpointWithSecretSchema = named(
  webhookEndpointSchema.extend({
    secret: z
      .string()
      .nullable()
      .describe(
        'The signing secret ("whsec_…"), shown once. Null in an Idempotent-Replayed copy: secrets are ' +
          'never stored with the idempotency record, so a caller that lost the original rotates again.',
      ),
  }),
  'WebhookEndpointWithSecret',
  'A webhook endpoint with its new signing secret, shown once.',
)

export const deletedWebhookEndpointSchema = named(
  z.object({ id: webhookEndpointIdSchema, deleted: z.literal(true) }),
  'DeletedWebhookEndpoint',
  'The endpoint is gone, with its delivery history.',
)

const deliveryStatusSchema = z.enum(['pending', 'delivered', 'dead'])

/**
 * Why an attempt got no answer: a fixed set of classes, each with a fixed message (never the network's own
 * text, addresses or ports). A copy of the server's `deliveryErrorMessages` (asserted equal by a server
 * test). Classes are appended, never renamed; the fields stay plain strings so that an SDK built before a
 * new class still reads it.
 */
export const webhookDeliveryErrors = {
  'address-refused':
    'The host did not resolve to a public address (loopback, private, link-local and reserved are refused).',
  'dns-failed': 'The host name did not resolve.',
  'connection-refused': 'The receiver refused the connection.',
  'connection-reset': 'The connection closed before a complete answer arrived.',
  'host-unreachable': "No route to the receiver's network.",
  timeout: 'No complete answer within the time limit of an attempt.',
  'tls-failed': "The TLS handshake or the check of the receiver's certificate failed.",
  'response-invalid': 'The answer was not valid HTTP.',
  aborted: 'The gateway stopped during the attempt.',
  'endpoint-disabled': 'The endpoint was disabled before the delivery succeeded.',
  other: "The attempt failed for another reason (the operator's log has the details).",
} as const

export type WebhookDeliveryError = keyof typeof webhookDeliveryErrors

const deliveryErrorDescription = `One of: ${Object.entries(webhookDeliveryErrors)
  .map(([name, message]) => `"${name}" (${message})`)
  .join('; ')}`

export const webhookDeliverySchema = named(
  z.object({
    id: webhookDeliveryIdSchema,
    endpoint_id: webhookEndpointIdSchema,
    event_id: eventIdSchema.describe('The event; receivers see it as the webhook-id header.'),
    // A plain string: `webhook.test`, or a type added after this SDK was built.
    event_type: z.string(),
    status: deliveryStatusSchema.describe('pending: more attempts to come; dead: attempts exhausted.'),
    series: z.int().min(1).describe('1 for the first attempt series, +1 per redelivery.'),
    attempt_count: z.int().min(0).describe('Attempts made in the current series.'),
    next_attempt_at: timestampSchema.nullable(),
    last_attempt_at: timestampSchema.nullable(),
    last_status_code: z
      .int()
      .nullable()
      .describe('HTTP status of the last answer; null when none arrived (see last_error).'),
    last_error: z
      .string()
      .nullable()
      .describe(`Why the last attempt got no answer; null when it got one. ${deliveryErrorDescription}.`),
    delivered_at: timestampSchema.nullable(),
    created_at: timestampSchema,
  }),
  'WebhookDelivery',
  'One event sent to one endpoint, with its retries.',
)

export const webhookDeliveryAttemptSchema = named(
  z.object({
    series: z.int().min(1),
    attempt: z.int().min(1),
    started_at: timestampSchema,
    duration_ms: z.int().min(0),
    status_code: z.int().nullable().describe('HTTP status of the answer; null when none arrived.'),
    error: z
      .string()
      .nullable()
      .describe(`Why no answer arrived; null when one did (see status_code). ${deliveryErrorDescription}.`),
    response_excerpt: z.string().nullable().describe("The start of the receiver's answer."),
  }),
  'WebhookDeliveryAttempt',
  'One POST of a delivery.',
)

export const webhookDeliveryWithAttemptsSchema = named(
  webhookDeliverySchema.extend({
    attempts: z.array(webhookDeliveryAttemptSchema).describe('The latest attempts, newest first.'),
  }),
  'WebhookDeliveryWithAttempts',
  'A delivery with its attempt log.',
)

const webhookDeliveryPageSchema = pageSchema(webhookDeliverySchema, 'WebhookDeliveryPage')

export type WebhookEndpoint = z.output<typeof webhookEndpointSchema>
export type WebhookEndpointWithSecret = z.output<typeof webhookEndpointWithSecretSchema>
export type WebhookDelivery = z.output<typeof webhookDeliverySchema>
export type WebhookDeliveryAttempt = z.output<typeof webhookDeliveryAttemptSchema>

const errors = {
  endpointNotFound: {
    code: 'webhook-endpoint-not-found',
    status: 404,
    description: 'No webhook endpoint with this id in the store of the calling key.',
  },
  deliveryNotFound: {
    code: 'webhook-delivery-not-found',
    status: 404,
    description: 'No webhook delivery with this id in the store of the calling key.',
  },
  urlInvalid: {
    code: 'webhook-url-invalid',
    status: 422,
    description: 'body.url is not an absolute http(s) URL with a host.',
  },
  urlRefused: {
    code: 'webhook-url-refused',
    status: 422,
    description:
      'body.url is well formed but may not be called: http://, or a host that does not resolve to a public address (loopback, private, link-local and reserved addresses are refused unless the gateway allows local receivers).',
  },
  endpointsLimit: {
    code: 'webhook-endpoints-limit-reached',
    status: 409,
    description: `The store already has ${webhookEndpointsPerStoreMax} endpoints, the most allowed.`,
  },
  endpointDisabled: {
    code: 'webhook-endpoint-disabled',
    status: 409,
    description: 'The endpoint is disabled; enable it (PATCH enabled: true) first.',
  },
  redeliveryLimit: {
    code: 'webhook-redelivery-limit-reached',
    status: 409,
    description: 'The delivery was redelivered the most times allowed.',
  },
} as const satisfies Record<string, ErrorSpec>

const endpointParams = z.strictObject({ id: webhookEndpointIdSchema })
const deliveryParams = z.strictObject({ id: webhookDeliveryIdSchema })

const urlSchema = z
  .string()
  .min(1)
  .max(webhookUrlLengthMax)
  .describe('https:// URL that receives the POSTs. Its host must not resolve to a link-local address.')
const descriptionSchema = z
  .string()
  .max(webhookDescriptionLengthMax)
  .describe(`A label for people (at most ${webhookDescriptionLengthMax} characters).`)

export const createWebhookEndpoint = defineOperation({
  operationId: 'createWebhookEndpoint',
  method: 'POST',
  path: '/v1/webhooks',
  summary: 'Create a webhook endpoint',
  description:
    'Returns the endpoint with its signing secret, shown once: store it on the receiving side. An ' +
    'Idempotency-Key is optional; with one, a retry returns the same endpoint (with `secret` null).',
  tags: ['webhooks'],
  scope: 'webhooks:write',
  moneyMoving: false,
  idempotency: 'optional',
  body: z.strictObject({
    url: urlSchema,
    event_filter: webhookEventFilterSchema,
    description: descriptionSchema.optional(),
  }),
  response: webhookEndpointWithSecretSchema,
  successStatus: 201,
  errors: [errors.urlInvalid, errors.urlRefused, errors.endpointsLimit],
})

export const listWebhookEndpoints = defineOperation({
  operationId: 'listWebhookEndpoints',
  method: 'GET',
  path: '/v1/webhooks',
  summary: 'List webhook endpoints',
  description: `Newest first. A store has at most ${webhookEndpointsPerStoreMax} endpoints.`,
  tags: ['webhooks'],
  scope: 'webhooks:read',
  moneyMoving: false,
  query: pageQuerySchema(webhookEndpointIdSchema),
  response: pageSchema(webhookEndpointSchema, 'WebhookEndpointPage'),
  successStatus: 200,
})

export const getWebhookEndpoint = defineOperation({
  operationId: 'getWebhookEndpoint',
  method: 'GET',
  path: '/v1/webhooks/:id',
  summary: 'Get a webhook endpoint',
  description: 'The endpoint without its secret.',
  tags: ['webhooks'],
  scope: 'webhooks:read',
  moneyMoving: false,
  params: endpointParams,
  response: webhookEndpointSchema,
  successStatus: 200,
  errors: [errors.endpointNotFound],
})

export const updateWebhookEndpoint = defineOperation({
  operationId: 'updateWebhookEndpoint',
  method: 'PATCH',
  path: '/v1/webhooks/:id',
  summary: 'Change a webhook endpoint',
  description:
    'Changes only the fields sent. Re-enabling starts a fresh failure window; it does not resend dead ' +
    'deliveries (redeliver those).',
  tags: ['webhooks'],
  scope: 'webhooks:write',
  moneyMoving: false,
  params: endpointParams,
  body: z
    .strictObject({
      url: urlSchema.optional(),
      event_filter: webhookEventFilterSchema.optional(),
      description: descriptionSchema.optional(),
      enabled: z.boolean().optional(),
    })
    .refine((body) => Object.keys(body).length > 0, 'send at least one field to change'),
  response: webhookEndpointSchema,
  successStatus: 200,
  errors: [errors.endpointNotFound, errors.urlInvalid, errors.urlRefused],
})

export const deleteWebhookEndpoint = defineOperation({
  operationId: 'deleteWebhookEndpoint',
  method: 'DELETE',
  path: '/v1/webhooks/:id',
  summary: 'Delete a webhook endpoint',
  description: 'Deletes the endpoint and its delivery history; queued deliveries are dropped.',
  tags: ['webhooks'],
  scope: 'webhooks:write',
  moneyMoving: false,
  params: endpointParams,
  response: deletedWebhookEndpointSchema,
  successStatus: 200,
  errors: [errors.endpointNotFound],
})

export const rotateWebhookEndpointSecret = defineOperation({
  operationId: 'rotateWebhookEndpointSecret',
  method: 'POST',
  path: '/v1/webhooks/:id/rotate-secret',
  summary: "Rotate a webhook endpoint's signing secret",
  description:
    'Returns the new secret, shown once. For `overlap_seconds` the previous secret signs too (a second ' +
    'signature in the same header), so receivers can switch without losing events. A second rotation ' +
    'inside the overlap retires the first secret at once: send an Idempotency-Key to retry safely.',
  tags: ['webhooks'],
  scope: 'webhooks:write',
  moneyMoving: false,
  idempotency: 'optional',
  params: endpointParams,
  body: z.strictObject({
    overlap_seconds: z
      .int()
      .min(0)
      .max(webhookRotationOverlapSecondsMax)
      .optional()
      .describe(
        `How long the previous secret keeps signing: 0 retires it now; default ` +
          `${webhookRotationOverlapSecondsDefault} (one day), at most ${webhookRotationOverlapSecondsMax}.`,
      ),
  }),
  response: webhookEndpointWithSecretSchema,
  successStatus: 200,
  errors: [errors.endpointNotFound],
})

export const sendWebhookEndpointTest = defineOperation({
  operationId: 'sendWebhookEndpointTest',
  method: 'POST',
  path: '/v1/webhooks/:id/test',
  summary: 'Send a test event to a webhook endpoint',
  description:
    'Sends a `webhook.test` event to this endpoint only, whatever its filter, through the normal path: ' +
    'signed, retried, logged. Returns the new delivery.',
  tags: ['webhooks'],
  scope: 'webhooks:write',
  moneyMoving: false,
  idempotency: 'optional',
  params: endpointParams,
  response: webhookDeliverySchema,
  successStatus: 201,
  errors: [errors.endpointNotFound, errors.endpointDisabled],
})

const deliveryQuery = pageQuerySchema(webhookDeliveryIdSchema).extend({
  status: deliveryStatusSchema.optional().describe('Only deliveries in this status.'),
  event_id: eventIdSchema.optional().describe('Only deliveries of this event.'),
})

export const listWebhookEndpointDeliveries = defineOperation({
  operationId: 'listWebhookEndpointDeliveries',
  method: 'GET',
  path: '/v1/webhooks/:id/deliveries',
  summary: "List a webhook endpoint's deliveries",
  description: 'Newest first, optionally filtered by status or event.',
  tags: ['webhooks'],
  scope: 'webhooks:read',
  moneyMoving: false,
  params: endpointParams,
  query: deliveryQuery,
  response: webhookDeliveryPageSchema,
  successStatus: 200,
  errors: [errors.endpointNotFound],
})

export const listWebhookDeliveries = defineOperation({
  operationId: 'listWebhookDeliveries',
  method: 'GET',
  path: '/v1/webhook-deliveries',
  summary: 'List webhook deliveries',
  description: "The store's deliveries to all its endpoints, newest first, optionally filtered.",
  tags: ['webhooks'],
  scope: 'webhooks:read',
  moneyMoving: false,
  query: deliveryQuery,
  response: webhookDeliveryPageSchema,
  successStatus: 200,
})

export const getWebhookDelivery = defineOperation({
  operationId: 'getWebhookDelivery',
  method: 'GET',
  path: '/v1/webhook-deliveries/:id',
  summary: 'Get a webhook delivery with its attempts',
  description: 'Each attempt: when, how long, and the status code or the error.',
  tags: ['webhooks'],
  scope: 'webhooks:read',
  moneyMoving: false,
  params: deliveryParams,
  response: webhookDeliveryWithAttemptsSchema,
  successStatus: 200,
  errors: [errors.deliveryNotFound],
})

export const redeliverWebhookDelivery = defineOperation({
  operationId: 'redeliverWebhookDelivery',
  method: 'POST',
  path: '/v1/webhook-deliveries/:id/redeliver',
  summary: 'Send a webhook delivery again',
  description:
    'Starts a new attempt series now (full retry schedule) with the same webhook-id, so receivers can ' +
    'recognise a repeat. Works on delivered, dead and pending deliveries; the endpoint must be enabled.',
  tags: ['webhooks'],
  scope: 'webhooks:write',
  moneyMoving: false,
  idempotency: 'optional',
  params: deliveryParams,
  response: webhookDeliverySchema,
  successStatus: 200,
  errors: [errors.deliveryNotFound, errors.endpointDisabled, errors.redeliveryLimit],
})
