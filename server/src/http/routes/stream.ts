import { getPublicInvoice } from '@sluice/sdk/api/public'
import type { FastifyInstance } from 'fastify'
import { getInvoiceForCheckout, type InvoiceContext } from '../../modules/invoices/invoice.service.ts'
import { parseInput } from '../errors.ts'
import { clientBucketKey, type RouteDependencies, takePublicRateLimitToken } from '../route.ts'
import { type LiveEventHub, openEventStream } from './live-stream.ts'
import { publicInvoiceToWire } from './public.ts'

/** The checkout's live stream; the page polls slowly when it cannot hold one open. */
export const checkoutStreamPath = '/v1/public/invoices/:id/stream'

/**
 * GET /v1/public/invoices/:id/stream: server-sent events for the hosted checkout. The first `invoice`
 * event is the invoice as GET /v1/public/invoices/:id answers it; another follows whenever an outbox event
 * about it (its own, or a payment's naming it) commits, re-read from the database.
 */
export function registerCheckoutStreamRoute(
  app: FastifyInstance,
  dependencies: RouteDependencies,
  hub: LiveEventHub,
): void {
  const context: InvoiceContext = {
    networks: dependencies.networks,
    rateSource: dependencies.rateSource,
    now: dependencies.now,
  }
  app.get(checkoutStreamPath, { logLevel: 'warn' }, async (request, reply) => {
    takePublicRateLimitToken(dependencies, request, reply)
    const params = parseInput(getPublicInvoice.params, request.params, 'params')
    const read = async () =>
      publicInvoiceToWire(await getInvoiceForCheckout(dependencies.pool, params.id, context))
    const first = await read()
    const release = hub.reserve(clientBucketKey(request.ip))
    const stream = openEventStream(request, reply)
    let lastSent = JSON.stringify(first)
    stream.send('invoice', first)
    const refresh = async () => {
      const invoice = await read()
      const text = JSON.stringify(invoice)
      if (text === lastSent) return
      lastSent = text
      stream.send('invoice', invoice)
    }
    let unsubscribe: (() => void) | undefined
    try {
      unsubscribe = await hub.subscribe({
        matches: (event) => event.subjectId === params.id || event.payload.invoice_id === params.id,
        deliver: refresh,
        end: stream.close,
      })
      // An event committed between the first read and the subscription: one more read closes the gap.
      await refresh().catch(() => {})
      await stream.closed
    } catch (error) {
      // The reply is hijacked: end the stream (the page falls back to polling) and log the cause.
      request.log.warn({ err: error }, 'checkout stream failed')
      stream.close()
    } finally {
      unsubscribe?.()
      release()
    }
  })
}
