import { pageSizeDefault } from '@sluice/sdk/api/common'
import {
  createPaymentLink,
  deactivatePaymentLink,
  getPaymentLink,
  listPaymentLinks,
  type PaymentLinkWire,
} from '@sluice/sdk/api/payment-links'
import { formatUnits } from '@sluice/sdk/money'
import type { FastifyInstance } from 'fastify'
import { withTransaction } from '../../db/tx.ts'
import type { InvoiceContext } from '../../modules/invoices/invoice.service.ts'
import {
  createPaymentLink as createPaymentLinkOfStore,
  deactivatePaymentLink as deactivatePaymentLinkOfStore,
  getPaymentLink as getPaymentLinkOfStore,
  listPaymentLinks as listPaymentLinksOfStore,
  paymentLinkStatus,
} from '../../modules/payment-links/payment-link.service.ts'
import type { PaymentLink } from '../../modules/payment-links/payment-link.types.ts'
import { type RouteDependencies, registerOperation } from '../route.ts'

const decimal = (value: bigint | null, decimals: number) =>
  value === null ? null : formatUnits(value, decimals)

export function paymentLinkToWire(link: PaymentLink, now: Date): PaymentLinkWire {
  return {
    id: link.id,
    url_path: `/l/${link.id}`,
    status: paymentLinkStatus(link, now),
    currency: link.currency,
    amount_type: link.amount === null ? 'buyer_chosen' : 'fixed',
    amount: decimal(link.amount, link.amountDecimals),
    amount_min: decimal(link.amountMin, link.amountDecimals),
    amount_max: decimal(link.amountMax, link.amountDecimals),
    networks: link.networks === null ? null : [...link.networks],
    description: link.description,
    redirect_url: link.redirectUrl,
    one_time: link.oneTime,
    invoice_id: link.invoiceId,
    expires_at: link.expiresAt?.toISOString() ?? null,
    deactivated_at: link.deactivatedAt?.toISOString() ?? null,
    created_at: link.createdAt.toISOString(),
  }
}

/** Payment links of a store: create (optionally idempotent), read, list, deactivate. */
export function registerPaymentLinkRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool, now } = dependencies
  const context: InvoiceContext = {
    networks: dependencies.networks,
    rateSource: dependencies.rateSource,
    now: dependencies.now,
  }

  registerOperation(
    app,
    createPaymentLink,
    async ({ principal, body, idempotency }) =>
      await withTransaction(pool, async (client) => {
        const link = await createPaymentLinkOfStore(
          client,
          {
            merchantId: principal.merchantId,
            currency: body.currency,
            amount: body.amount,
            amountMin: body.amount_min,
            amountMax: body.amount_max,
            networks: body.networks,
            description: body.description,
            redirectUrl: body.redirect_url,
            oneTime: body.one_time,
            expiresAt: body.expires_at === undefined ? undefined : new Date(body.expires_at),
          },
          context,
        )
        const response = paymentLinkToWire(link, now())
        await idempotency?.complete(client, response)
        return response
      }),
    dependencies,
  )

  registerOperation(
    app,
    getPaymentLink,
    async ({ principal, params }) =>
      paymentLinkToWire(await getPaymentLinkOfStore(pool, principal.merchantId, params.id), now()),
    dependencies,
  )

  registerOperation(
    app,
    listPaymentLinks,
    async ({ principal, query }) => {
      const page = await listPaymentLinksOfStore(pool, principal.merchantId, {
        limit: query.limit ?? pageSizeDefault,
        startingAfter: query.starting_after,
      })
      const at = now()
      return { data: page.links.map((link) => paymentLinkToWire(link, at)), has_more: page.hasMore }
    },
    dependencies,
  )

  registerOperation(
    app,
    deactivatePaymentLink,
    async ({ principal, params }) =>
      paymentLinkToWire(
        await deactivatePaymentLinkOfStore(pool, principal.merchantId, params.id, now()),
        now(),
      ),
    dependencies,
  )
}
