import {
  cancelRefund,
  createRefund,
  getRefund,
  listInvoiceRefunds,
  type RefundWire,
  reissueRefundLink,
} from '@sluice/sdk/api/refunds'
import { formatUnits } from '@sluice/sdk/money'
import type { FastifyInstance } from 'fastify'
import { withTransaction } from '../../db/tx.ts'
import type { InvoiceContext } from '../../modules/invoices/invoice.service.ts'
import {
  cancelRefund as cancelRefundOfStore,
  getRefund as getRefundOfStore,
  listInvoiceRefunds as listInvoiceRefundsOfStore,
  openRefund,
  reissueRefundLink as reissueRefundLinkOfStore,
} from '../../modules/refunds/refund.service.ts'
import type { Refund } from '../../modules/refunds/refund.types.ts'
import { type RouteDependencies, registerOperation } from '../route.ts'

/** The refund on the wire; `linkToken` only in the answer that created it. */
export function refundToWire(refund: Refund, linkToken?: string): RefundWire {
  const decimal = (value: bigint) => formatUnits(value, refund.decimals)
  return {
    id: refund.id,
    invoice_id: refund.invoiceId,
    status: refund.status,
    amount: decimal(refund.amount),
    amount_minor: refund.amount.toString(),
    asset: refund.assetId,
    network: refund.network,
    symbol: refund.symbol,
    decimals: refund.decimals,
    reason: refund.reason,
    from_buyer_credit: decimal(refund.fromBuyerCredit),
    from_merchant_balance: decimal(refund.fromMerchantBalance),
    destination: refund.destination,
    payout_id: refund.payoutId,
    payout_error: refund.payoutError,
    refund_url_path: linkToken === undefined ? null : `/refund/${linkToken}`,
    expires_at: refund.expiresAt.toISOString(),
    destination_submitted_at: refund.destinationSubmittedAt?.toISOString() ?? null,
    cancelled_at: refund.cancelledAt?.toISOString() ?? null,
    created_at: refund.createdAt.toISOString(),
  }
}

/** The link token lets whoever holds it redirect the refund: the idempotency record keeps no copy. */
const withoutLink = (response: RefundWire): RefundWire => ({ ...response, refund_url_path: null })

/** Refunds: open (exactly once, in one transaction with its reservation and event), read, cancel, relink. */
export function registerRefundRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool, now } = dependencies
  const context: InvoiceContext = {
    networks: dependencies.networks,
    rateSource: dependencies.rateSource,
    now: dependencies.now,
  }

  registerOperation(
    app,
    createRefund,
    async ({ principal, params, body, idempotency }) =>
      await withTransaction(pool, async (client) => {
        const opened = await openRefund(
          client,
          {
            merchantId: principal.merchantId,
            invoiceId: params.id,
            amount: body.amount,
            assetId: body.asset,
            reason: body.reason,
            apiKeyId: principal.apiKeyId,
          },
          context,
        )
        const response = refundToWire(opened.refund, opened.linkToken)
        await idempotency.complete(client, response)
        return response
      }),
    dependencies,
    { storedResponse: withoutLink },
  )

  registerOperation(
    app,
    listInvoiceRefunds,
    async ({ principal, params }) => {
      const refunds = await listInvoiceRefundsOfStore(pool, principal.merchantId, params.id, context)
      return { data: refunds.map((refund) => refundToWire(refund)), has_more: false }
    },
    dependencies,
  )

  registerOperation(
    app,
    getRefund,
    async ({ principal, params }) =>
      refundToWire(await getRefundOfStore(pool, principal.merchantId, params.id, now())),
    dependencies,
  )

  registerOperation(
    app,
    cancelRefund,
    async ({ principal, params }) =>
      refundToWire(await cancelRefundOfStore(pool, principal.merchantId, params.id, now())),
    dependencies,
  )

  registerOperation(
    app,
    reissueRefundLink,
    async ({ principal, params }) => {
      const reissued = await reissueRefundLinkOfStore(pool, principal.merchantId, params.id, now())
      return refundToWire(reissued.refund, reissued.linkToken)
    },
    dependencies,
  )
}
