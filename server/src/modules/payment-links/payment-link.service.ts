import { formatUnits } from '@sluice/sdk/money'
import type { NetworkConfig } from '../../config/config.types.ts'
import type { PoolClient, Queryable } from '../../db/pool.ts'
import { type IdPrefix, newId } from '../../lib/ids.ts'
import {
  createInvoice,
  getInvoiceForCheckout,
  type InvoiceContext,
  type InvoiceView,
} from '../invoices/invoice.service.ts'
import {
  assetUnsupported,
  currencyUnsupported,
  expiresAtInvalid,
  networkUnknown,
  paymentLinkInactive,
  paymentLinkNotFound,
  paymentLinkUsed,
} from './payment-link.errors.ts'
import { paymentLinkLimits } from './payment-link.limits.ts'
import {
  deactivateLink,
  insertPaymentLink,
  selectPaymentLink,
  selectPaymentLinks,
  setLinkInvoice,
} from './payment-link.repo.ts'
import { buyerAmount, linkPricing, linkStatus } from './payment-link.rules.ts'
import type { CreatePaymentLinkInput, PaymentLink, PaymentLinkStatus } from './payment-link.types.ts'

// lib/ids.ts lists the prefixes it knows; 'lnk' is ours until its owner adds it there.
const linkIdPrefix = 'lnk' as IdPrefix

function acceptedNetworks(context: InvoiceContext, names: readonly string[] | undefined): NetworkConfig[] {
  if (names === undefined) return [...context.networks]
  return names.map((name) => {
    const network = context.networks.find((candidate) => candidate.name === name)
    if (network === undefined) throw networkUnknown(name)
    return network
  })
}

/**
 * The decimals a link's amounts are counted in, checking that invoices can be opened in the currency:
 * a stablecoin needs its token on every accepted network (the fewest decimals among them win, as for
 * invoices); a fiat currency needs a rate for some accepted token, and has cents.
 */
async function amountDecimalsFor(
  context: InvoiceContext,
  currency: string,
  names: readonly string[] | undefined,
): Promise<number> {
  const networks = acceptedNetworks(context, names)
  const stablecoin = context.networks.some((network) =>
    network.tokens.some((token) => token.symbol === currency),
  )
  if (stablecoin) {
    let fewest: number | undefined
    for (const network of networks) {
      const token = network.tokens.find((candidate) => candidate.symbol === currency)
      if (token === undefined) throw assetUnsupported(currency, network.name)
      if (fewest === undefined || token.decimals < fewest) fewest = token.decimals
    }
    if (fewest === undefined) throw currencyUnsupported(currency)
    return fewest
  }
  for (const network of networks) {
    for (const token of network.tokens) {
      if ((await context.rateSource.quote(currency, token.symbol)) !== undefined)
        return paymentLinkLimits.fiatDecimals
    }
  }
  throw currencyUnsupported(currency)
}

export async function createPaymentLink(
  db: Queryable,
  input: CreatePaymentLinkInput,
  context: InvoiceContext,
): Promise<PaymentLink> {
  const now = context.now()
  if (input.expiresAt !== undefined && input.expiresAt.getTime() <= now.getTime()) throw expiresAtInvalid()
  const amountDecimals = await amountDecimalsFor(context, input.currency, input.networks)
  const pricing = linkPricing(input, amountDecimals)
  return await insertPaymentLink(db, {
    id: newId(linkIdPrefix, now.getTime()),
    merchantId: input.merchantId,
    currency: input.currency,
    amountDecimals,
    ...pricing,
    networks: input.networks === undefined ? null : [...input.networks],
    description: input.description ?? null,
    redirectUrl: input.redirectUrl ?? null,
    oneTime: input.oneTime ?? false,
    invoiceId: null,
    expiresAt: input.expiresAt ?? null,
    deactivatedAt: null,
    createdAt: now,
  })
}

/** A link of the store; another store's link is not found. */
export async function getPaymentLink(db: Queryable, merchantId: string, id: string): Promise<PaymentLink> {
  const link = await selectPaymentLink(db, id)
  if (link === undefined || link.merchantId !== merchantId) throw paymentLinkNotFound()
  return link
}

/** For the public link page: by id alone (the id is the capability). */
export async function getPublicPaymentLink(db: Queryable, id: string): Promise<PaymentLink> {
  const link = await selectPaymentLink(db, id)
  if (link === undefined) throw paymentLinkNotFound()
  return link
}

export async function listPaymentLinks(
  db: Queryable,
  merchantId: string,
  page: { limit: number; startingAfter?: string | undefined },
): Promise<{ links: PaymentLink[]; hasMore: boolean }> {
  const links = await selectPaymentLinks(db, merchantId, { ...page, limit: page.limit + 1 })
  return { links: links.slice(0, page.limit), hasMore: links.length > page.limit }
}

/** Stops new openings; invoices already opened stay payable. Idempotent (the first time is kept). */
export async function deactivatePaymentLink(
  db: Queryable,
  merchantId: string,
  id: string,
  now: Date,
): Promise<PaymentLink> {
  const link = await deactivateLink(db, merchantId, id, now)
  if (link === undefined) throw paymentLinkNotFound()
  return link
}

/** A link's status now: deactivated, expired (past expires_at) or active. */
export function paymentLinkStatus(link: PaymentLink, now: Date): PaymentLinkStatus {
  return linkStatus(link, now)
}

const payable = (view: InvoiceView) => view.row.status === 'new' || view.row.status === 'processing'

/**
 * Opens an invoice from a link, in the caller's transaction. The link row is locked first, so openings
 * of one link run one at a time: a one-time link creates its only invoice and records it before the lock
 * is released, and every later opening returns that invoice while it is payable (new or processing),
 * then `payment-link-used`. A deactivated or expired link is `payment-link-inactive`.
 */
export async function openPaymentLink(
  client: PoolClient,
  input: Readonly<{ id: string; amount: string | undefined }>,
  context: InvoiceContext,
): Promise<InvoiceView> {
  const link = await selectPaymentLink(client, input.id, { forUpdate: true })
  if (link === undefined) throw paymentLinkNotFound()
  if (linkStatus(link, context.now()) !== 'active') throw paymentLinkInactive()
  if (link.oneTime && link.invoiceId !== null) {
    const existing = await getInvoiceForCheckout(client, link.invoiceId, context)
    if (payable(existing)) return existing
    throw paymentLinkUsed()
  }
  const amount = buyerAmount(link, input.amount)
  const view = await createInvoice(
    client,
    {
      merchantId: link.merchantId,
      amount: formatUnits(amount, link.amountDecimals),
      currency: link.currency,
      networks: link.networks ?? undefined,
      description: link.description ?? undefined,
      redirectUrl: link.redirectUrl ?? undefined,
      paymentLinkId: link.id,
    },
    context,
  )
  if (link.oneTime) await setLinkInvoice(client, link.id, view.row.id)
  return view
}

/** The store a link belongs to (idempotency keys of public openings live in its key space). */
export async function paymentLinkMerchant(db: Queryable, id: string): Promise<string> {
  return (await getPublicPaymentLink(db, id)).merchantId
}
