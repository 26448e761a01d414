import { pageSizeDefault } from '@sluice/sdk/api/common'
import {
  createInvoice,
  getInvoice,
  type InvoiceWire,
  listInvoices,
  markInvoice,
} from '@sluice/sdk/api/invoices'
import { formatUnits } from '@sluice/sdk/money'
import { formatErc20PaymentUri } from '@sluice/sdk/payment-uri'
import type { FastifyInstance } from 'fastify'
import type { z } from 'zod'
import { withTransaction } from '../../db/tx.ts'
import type { InvoiceRow } from '../../modules/invoices/invoice.repo.ts'
import {
  type CreateInvoiceInput,
  createInvoice as createInvoiceOfStore,
  getInvoice as getInvoiceOfStore,
  type InvoiceContext,
  type InvoiceCreation,
  type InvoiceView,
  invoiceCreationWrite,
  listInvoices as listInvoicesOfStore,
  markInvoice as markInvoiceOfStore,
  planInvoice,
} from '../../modules/invoices/invoice.service.ts'
import { DepositAddressReserve } from '../../modules/payments/deposit-address.service.ts'
import { oneStatementForm, type RouteDependencies, registerOperation } from '../route.ts'
import { paymentToWire } from './wire.ts'

export function invoiceToWire(view: InvoiceView): InvoiceWire {
  const { row } = view
  return {
    ...rowToWire(row),
    amount_paid: view.paid,
    payment_options: view.options.map((option) => ({
      network: option.network.name,
      chain_id: option.network.chainId,
      asset: option.assetId,
      symbol: option.token.symbol,
      decimals: option.token.decimals,
      contract_address: option.token.contractAddress,
      address: option.address,
      amount: formatUnits(option.amountDueMinor, option.token.decimals),
      amount_minor: option.amountDueMinor.toString(),
      payment_uri: formatErc20PaymentUri({
        tokenAddress: option.token.contractAddress,
        chainId: option.network.chainId,
        recipient: option.address as `0x${string}`,
        amountMinor: option.amountDueMinor,
      }),
    })),
    payments: view.payments.map((payment) =>
      paymentToWire(
        payment,
        view.options.map((option) => option.network),
      ),
    ),
  }
}

type CreateInvoiceBody = z.output<typeof createInvoice.body>

function rowToWire(row: InvoiceRow): Omit<InvoiceWire, 'amount_paid' | 'payment_options' | 'payments'> {
  return {
    id: row.id,
    status: row.status,
    exception: row.exception,
    currency: row.currency,
    amount: row.amount,
    rate:
      row.rate === null
        ? null
        : { source: row.rate.source, locked_at: row.rate.locked_at, rates: { ...row.rate.rates } },
    tolerance_basis_points: row.tolerance_basis_points,
    expires_at: row.expires_at.toISOString(),
    monitoring_until: row.monitoring_until.toISOString(),
    order_id: row.order_id,
    description: row.description,
    redirect_url: row.redirect_url,
    metadata: { ...row.metadata },
    revision: row.revision,
    checkout_path: `/pay/${row.id}`,
    created_at: row.created_at.toISOString(),
  }
}

/** Invoices: create (idempotent, in one transaction with its idempotency record), read, list, mark. */
export function registerInvoiceRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool } = dependencies
  const context: InvoiceContext = {
    networks: dependencies.networks,
    rateSource: dependencies.rateSource,
    now: dependencies.now,
  }

  registerCreateInvoiceRoute(app, dependencies, context)

  registerOperation(
    app,
    getInvoice,
    async ({ principal, params }) =>
      invoiceToWire(await getInvoiceOfStore(pool, principal.merchantId, params.id, context)),
    dependencies,
  )

  registerOperation(
    app,
    listInvoices,
    async ({ principal, query }) => {
      const page = await listInvoicesOfStore(pool, principal.merchantId, {
        limit: query.limit ?? pageSizeDefault,
        startingAfter: query.starting_after,
        status: query.status,
      })
      const views = await Promise.all(
        page.rows.map((row) => getInvoiceOfStore(pool, principal.merchantId, row.id, context)),
      )
      return { data: views.map(invoiceToWire), has_more: page.hasMore }
    },
    dependencies,
  )

  registerOperation(
    app,
    markInvoice,
    async ({ principal, params, body }) =>
      invoiceToWire(
        await markInvoiceOfStore(
          pool,
          {
            merchantId: principal.merchantId,
            id: params.id,
            mark: body.status,
            apiKeyId: principal.apiKeyId,
            reason: body.reason,
            revision: body.revision,
          },
          context,
        ),
      ),
    dependencies,
  )
}

/** POST /v1/invoices: in one statement (ADR 0022); refusals and take-overs in a transaction. */
function registerCreateInvoiceRoute(
  app: FastifyInstance,
  dependencies: RouteDependencies,
  context: InvoiceContext,
): void {
  const { pool } = dependencies
  // Addresses held for one-statement creation (ADR 0022); given back to the pool when the server closes.
  const reserve = new DepositAddressReserve(pool, (error) =>
    app.log.warn({ err: error }, 'holding deposit addresses failed; invoices use the two-step path'),
  )
  app.addHook('onClose', async () => await reserve.close())
  const inputOf = (merchantId: string, body: CreateInvoiceBody): CreateInvoiceInput => ({
    merchantId,
    amount: body.amount,
    currency: body.currency,
    networks: body.networks,
    expiresInMinutes: body.expires_in_minutes,
    monitoringMinutes: body.monitoring_minutes,
    toleranceBasisPoints: body.tolerance_basis_points,
    orderId: body.order_id,
    description: body.description,
    redirectUrl: body.redirect_url,
    metadata: body.metadata,
  })

  registerOperation(
    app,
    createInvoice,
    // The two-step path: a refusal to store, a key to take over, or a one-statement plan that failed.
    async ({ principal, body, idempotency }) =>
      await withTransaction(pool, async (client) => {
        const view = await createInvoiceOfStore(client, inputOf(principal.merchantId, body), context)
        const response = invoiceToWire(view)
        await idempotency.complete(client, response)
        return response
      }),
    dependencies,
    {
      singleStatement: oneStatementForm<typeof createInvoice, InvoiceCreation>(
        invoiceCreationWrite,
        async ({ principal, body }) => {
          const plan = await planInvoice(inputOf(principal.merchantId, body), context, reserve)
          return { response: invoiceToWire(plan.view), row: plan.creation, release: plan.release }
        },
      ),
    },
  )
}
