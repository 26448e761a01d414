import { apiOperations } from '@sluice/sdk/api/contract'
import { getPublicInvoiceQr } from '@sluice/sdk/api/public'
import type { FastifyInstance } from 'fastify'
import { docsContentSecurityPolicy, renderDocsPage } from '../docs-page.ts'
import { buildOpenApiDocument, type JsonSchema, type OpenApiDocument } from '../openapi.ts'
import { assertOperationsRegistered, type RouteDependencies } from '../route.ts'
import { registerApiKeyRoutes } from './api-keys.ts'
import { registerBalanceRoutes } from './balances.ts'
import { registerCustomerRoutes } from './customers.ts'
import { registerInvoiceRoutes } from './invoices.ts'
import { registerNetworkFeeRoutes } from './network-fees.ts'
import { registerPaymentLinkRoutes } from './payment-links.ts'
import { registerPayoutAddressRoutes } from './payout-addresses.ts'
import { registerPayoutRoutes } from './payouts.ts'
import { registerPublicRoutes } from './public.ts'
import { registerRefundRoutes } from './refunds.ts'
import { registerTreasuryRoutes } from './treasury.ts'
import { registerWebhookRoutes } from './webhooks.ts'

/**
 * The served document: the generated one, plus what the generator (openapi.ts) does not know yet.
 * Public operations need no key, so their security requirement is empty (`[]`), not the bearer scheme;
 * and the QR image route, outside the contract, is documented from its definition with image content.
 */
export function buildServedOpenApiDocument(): OpenApiDocument {
  const document = buildOpenApiDocument([...apiOperations, getPublicInvoiceQr])
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) {
      if (operation['x-sluice-scope'] === 'public') operation.security = []
    }
  }
  const qr = document.paths['/v1/public/invoices/{id}/qr']?.get
  const responses = qr?.responses as Record<string, JsonSchema> | undefined
  if (responses !== undefined)
    responses['200'] = {
      description: getPublicInvoiceQr.summary,
      content: {
        'image/svg+xml': { schema: { type: 'string' } },
        'image/png': { schema: { type: 'string', contentMediaType: 'image/png', contentEncoding: 'binary' } },
      },
    }
  return document
}

/**
 * The public API: every contract operation bound to its handler, plus its description at
 * GET /openapi.json and GET /docs (both public: they describe the API, they reveal no data).
 */
export function registerApiRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  registerApiKeyRoutes(app, dependencies)
  registerWebhookRoutes(app, dependencies)
  registerBalanceRoutes(app, dependencies)
  registerCustomerRoutes(app, dependencies)
  registerInvoiceRoutes(app, dependencies)
  registerPaymentLinkRoutes(app, dependencies)
  registerRefundRoutes(app, dependencies)
  registerPayoutRoutes(app, dependencies)
  registerTreasuryRoutes(app, dependencies)
  registerPayoutAddressRoutes(app, dependencies)
  registerPublicRoutes(app, dependencies)
  registerNetworkFeeRoutes(app, dependencies)
  // Start-up check: an operation in the contract without a handler would be a documented 404.
  assertOperationsRegistered(app, apiOperations)

  // Built once: the contract is fixed for the life of the process.
  const document = buildServedOpenApiDocument()
  const page = renderDocsPage(document)
  app.get('/openapi.json', { logLevel: 'warn' }, async () => document)
  app.get('/docs', { logLevel: 'warn' }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', docsContentSecurityPolicy)
      .send(page),
  )
}
