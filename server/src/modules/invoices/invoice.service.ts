import { formatUnits, MoneyError, parseUnits } from '@sluice/sdk/money'
import type { NetworkConfig, TokenConfig } from '../../config/config.types.ts'
import type { Pool, PoolClient, Queryable } from '../../db/pool.ts'
import { type BatchWrite, chainGatedWrites } from '../../db/statement.ts'
import { withTransaction } from '../../db/tx.ts'
import { newId } from '../../lib/ids.ts'
import { recordEvent } from '../events/event.service.ts'
import {
  createTransfer,
  getAccountBalance,
  getAccountStatement,
  getOrCreateAccount,
  listOwnerBalances,
} from '../ledger/ledger.service.ts'
import {
  type DepositAddressReserve,
  type HeldInvoiceAddress,
  heldInvoiceAddressesWrite,
} from '../payments/deposit-address.service.ts'
import { allocateDepositAddressWith, listOwnerPayments } from '../payments/payment.service.ts'
import type { Payment } from '../payments/payment.types.ts'
import {
  amountInvalid,
  assetUnsupported,
  currencyUnsupported,
  invoiceNotFound,
  invoiceOldRevision,
  invoiceStatusConflict,
  networkUnknown,
  rateUnavailable,
} from './invoice.errors.ts'
import { invoiceLimits } from './invoice.limits.ts'
import {
  type BuyerCreditPart,
  minorDueFor,
  planBuyerCredit,
  sameCurrencyRate,
  valueOfPayment,
} from './invoice.money.ts'
import type { RateSource } from './invoice.rates.ts'
import { rateDecimals } from './invoice.rates.ts'
import {
  type InvoiceInsert,
  type InvoiceRow,
  type InvoiceWithOptions,
  insertInvoiceWithOptions,
  insertMark,
  invoicesWithOptionsWrite,
  type OptionRow,
  selectDueForExpiry,
  selectInvoice,
  selectInvoices,
  selectOptions,
  updateInvoiceState,
} from './invoice.repo.ts'
import { applyMark, canMark, evaluateInvoice, eventsForChange } from './invoice.state.ts'
import type { InvoiceFacts, InvoiceState, InvoiceStatus, ManualMark } from './invoice.types.ts'
import { valueDecimals } from './invoice.types.ts'

export type InvoiceContext = Readonly<{
  networks: readonly NetworkConfig[]
  rateSource: RateSource
  now: () => Date
}>

export type CreateInvoiceInput = Readonly<{
  merchantId: string
  amount: string
  currency: string
  networks?: readonly string[] | undefined
  expiresInMinutes?: number | undefined
  monitoringMinutes?: number | undefined
  toleranceBasisPoints?: number | undefined
  orderId?: string | undefined
  description?: string | undefined
  redirectUrl?: string | undefined
  metadata?: Readonly<Record<string, string>> | undefined
  paymentLinkId?: string | undefined
}>

type Candidate = { network: NetworkConfig; token: TokenConfig; rateScaled: bigint; rateText: string }

function isStablecoin(networks: readonly NetworkConfig[], currency: string): boolean {
  return networks.some((network) => network.tokens.some((token) => token.symbol === currency))
}

/** The merchant's list, or (when omitted) every network that has a token for the currency. */
function acceptedNetworks(
  context: InvoiceContext,
  names: readonly string[] | undefined,
  currency: string,
): NetworkConfig[] {
  if (names === undefined) {
    const withToken = context.networks.filter((network) =>
      network.tokens.some((token) => token.symbol === currency),
    )
    return withToken.length > 0 ? withToken : [...context.networks]
  }
  return names.map((name) => {
    const network = context.networks.find((candidate) => candidate.name === name)
    if (network === undefined) throw networkUnknown(name)
    return network
  })
}

/** The (network, token, rate) lines an invoice can be paid with; fiat rates are quoted (and locked) here. */
async function candidates(context: InvoiceContext, input: CreateInvoiceInput): Promise<Candidate[]> {
  const networks = acceptedNetworks(context, input.networks, input.currency)
  if (isStablecoin(context.networks, input.currency)) {
    return networks.map((network) => {
      const token = network.tokens.find((candidate) => candidate.symbol === input.currency)
      if (token === undefined) throw assetUnsupported(input.currency, network.name)
      return { network, token, rateScaled: sameCurrencyRate, rateText: '1' }
    })
  }
  const lines: Candidate[] = []
  for (const network of networks) {
    for (const token of network.tokens) {
      const quote = await context.rateSource.quote(input.currency, token.symbol)
      if (quote !== undefined)
        lines.push({ network, token, rateScaled: quote.rateScaled, rateText: quote.text })
    }
  }
  if (lines.length === 0) {
    if (networks.length === 0 || !(await context.rateSource.quote(input.currency, 'USDT')))
      throw currencyUnsupported(input.currency)
    throw rateUnavailable(input.currency, 'any token')
  }
  return lines
}

function fewestDecimals(lines: readonly Candidate[]): number {
  let fewest = valueDecimals
  for (const line of lines) {
    if (line.token.decimals < fewest) fewest = line.token.decimals
  }
  return fewest
}

/** The amount due in value units; stablecoin amounts must fit every accepted asset's decimals exactly. */
function dueValueOf(input: CreateInvoiceInput, lines: readonly Candidate[], fiat: boolean): bigint {
  // Stablecoin amounts must be exact in the accepted asset with the fewest decimals; fiat has cents.
  const decimals = fiat ? 2 : fewestDecimals(lines)
  let units: bigint
  try {
    units = parseUnits(input.amount, decimals, input.currency)
  } catch (error) {
    if (error instanceof MoneyError) throw amountInvalid(error.code, error.message)
    throw error
  }
  if (units === 0n) throw amountInvalid('amount-not-positive', 'the amount must be greater than zero')
  if (units > invoiceLimits.amountWholeUnitsMax * 10n ** BigInt(decimals)) {
    throw amountInvalid('amount-too-large', `at most ${invoiceLimits.amountWholeUnitsMax} ${input.currency}`)
  }
  return units * 10n ** BigInt(valueDecimals - decimals)
}

type NewInvoice = Readonly<{ row: InvoiceInsert; lines: readonly Candidate[]; dueValue: bigint }>

/** Everything about a new invoice but its address: validated, priced (fiat rates locked), not written. */
async function newInvoice(input: CreateInvoiceInput, context: InvoiceContext): Promise<NewInvoice> {
  const fiat = !isStablecoin(context.networks, input.currency)
  const lines = await candidates(context, input)
  const dueValue = dueValueOf(input, lines, fiat)
  const now = context.now()
  const expiresAt = new Date(
    now.getTime() + (input.expiresInMinutes ?? invoiceLimits.expiryMinutesDefault) * 60_000,
  )
  const row: InvoiceInsert = {
    id: newId('inv'),
    merchant_id: input.merchantId,
    currency: input.currency,
    amount: input.amount,
    due_value: dueValue.toString(),
    rate: fiat
      ? {
          source: 'static-config',
          locked_at: now.toISOString(),
          rates: Object.fromEntries(lines.map((line) => [line.token.symbol, line.rateText])),
        }
      : null,
    tolerance_basis_points: input.toleranceBasisPoints ?? 0,
    expires_at: expiresAt,
    monitoring_until: new Date(
      expiresAt.getTime() + (input.monitoringMinutes ?? invoiceLimits.monitoringMinutesDefault) * 60_000,
    ),
    order_id: input.orderId ?? null,
    description: input.description ?? null,
    redirect_url: input.redirectUrl ?? null,
    metadata: { ...input.metadata },
    payment_link_id: input.paymentLinkId ?? null,
    created_at: now,
  }
  return { row, lines, dueValue }
}

/** The exact amount due per accepted asset, all at one address, in byte order as a later GET reads them. */
function optionsOf(invoice: NewInvoice, address: string): OptionRow[] {
  const options = invoice.lines.map((line) => ({
    invoice_id: invoice.row.id,
    network: line.network.name,
    asset_id: `${line.token.symbol}@${line.network.name}`,
    address,
    amount_due: minorDueFor(invoice.dueValue, line.token.decimals, line.rateScaled).toString(),
  }))
  options.sort((a, b) => compareText(a.network, b.network) || compareText(a.asset_id, b.asset_id))
  return options
}

/**
 * Creates an invoice in the caller's transaction: locks the rate (fiat), allocates a fresh deposit
 * address (one EVM address serves every accepted EVM network) and the exact amount due per asset.
 */
export async function createInvoice(
  client: PoolClient,
  input: CreateInvoiceInput,
  context: InvoiceContext,
): Promise<InvoiceView> {
  const invoice = await newInvoice(input, context)
  const address = await allocateDepositAddressWith(client, {
    merchantId: input.merchantId,
    ownerKind: 'invoice',
    ownerId: invoice.row.id,
  })
  const options = optionsOf(invoice, address.address)
  const stored = await insertInvoiceWithOptions(client, invoice.row, options)
  // A new invoice has no payments yet: its view needs no further reads.
  return viewOf(stored, optionViews(options, context.networks), [], context)
}

/** What a planned invoice writes: its held address, the invoice and its options. */
export type InvoiceCreation = Readonly<{ address: HeldInvoiceAddress; invoice: InvoiceWithOptions }>

/** New invoices as one batched write (ADR 0022, 0028): their addresses, then the invoices and options. */
export const invoiceCreationWrite: BatchWrite<InvoiceCreation> = {
  name: 'invoice-creation',
  build: (rows, gate) =>
    chainGatedWrites(gate, [
      (addressGate) =>
        heldInvoiceAddressesWrite(
          addressGate,
          rows.map((row) => row.address),
        ),
      (invoiceGate) =>
        invoicesWithOptionsWrite(
          invoiceGate,
          rows.map((row) => row.invoice),
        ),
    ]),
}

/**
 * A new invoice as a one-statement write (ADR 0022): its view (the response) and what it writes
 * (`invoiceCreationWrite`), for the caller to gate and run. The address is one the process holds or,
 * with none held, one taken for this request alone (never inside a transaction, so no request waits on
 * the merchant's index counter). `release` gives the address back if nothing was written.
 */
export async function planInvoice(
  input: CreateInvoiceInput,
  context: InvoiceContext,
  reserve: DepositAddressReserve,
): Promise<{ view: InvoiceView; creation: InvoiceCreation; release: () => void }> {
  // Validated and priced first: a refused request takes no address.
  const invoice = await newInvoice(input, context)
  const held = await reserve.takeOrAllocate(input.merchantId)
  const options = optionsOf(invoice, held.address)
  const stored: InvoiceRow = {
    ...invoice.row,
    status: 'new',
    exception: 'none',
    revision: 1,
    updated_at: invoice.row.created_at,
  }
  return {
    view: viewOf(stored, optionViews(options, context.networks), [], context),
    creation: {
      address: { merchantId: input.merchantId, invoiceId: invoice.row.id, held },
      invoice: { row: invoice.row, options },
    },
    release: () => reserve.giveBack(input.merchantId, held),
  }
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

export type InvoiceOptionView = Readonly<{
  network: NetworkConfig
  token: TokenConfig
  assetId: string
  address: string
  amountDueMinor: bigint
}>

export type InvoiceView = Readonly<{
  row: InvoiceRow
  options: readonly InvoiceOptionView[]
  /** The newest payments of any status (shown). */
  payments: readonly Payment[]
  /** The payments that count towards the invoice (facts, overpayment). */
  counted: readonly Payment[]
  facts: InvoiceFacts
  /** Value units formatted in the invoice currency. */
  paid: string
  due: string
}>

function rateOf(row: InvoiceRow, symbol: string): bigint {
  const text = row.rate?.rates[symbol]
  return text === undefined ? sameCurrencyRate : parseUnits(text, rateDecimals)
}

function optionViews(options: readonly OptionRow[], networks: readonly NetworkConfig[]): InvoiceOptionView[] {
  return options.flatMap((option) => {
    const network = networks.find((candidate) => candidate.name === option.network)
    const token = network?.tokens.find(
      (candidate) => `${candidate.symbol}@${option.network}` === option.asset_id,
    )
    if (network === undefined || token === undefined) return [] // a network removed from config since
    return [
      {
        network,
        token,
        assetId: option.asset_id,
        address: option.address,
        amountDueMinor: BigInt(option.amount_due),
      },
    ]
  })
}

/** Payment statuses that count towards an invoice: not orphaned, held, unsupported or dust. */
const countedStatuses = ['detected', 'confirmed', 'finalized'] as const

/** What the chain and the clock say about an invoice now (pure given its rows). */
export function factsOf(
  row: InvoiceRow,
  options: readonly InvoiceOptionView[],
  payments: readonly Payment[],
  now: Date,
): InvoiceFacts {
  const monitoringUntil = row.monitoring_until.getTime()
  const counted = payments.filter(
    (payment) =>
      (countedStatuses as readonly string[]).includes(payment.status) &&
      payment.detectedAt.getTime() < monitoringUntil &&
      options.some((option) => option.assetId === payment.assetId),
  )
  // Minor units are summed per asset and converted once: converting each payment rounds each down, and
  // an amount due paid in parts (5 + 5.834 USDT for 10.834) would fall short by the roundings.
  const valueIn = (payments: readonly Payment[]) =>
    options.reduce((sum, option) => {
      const minor = payments
        .filter((payment) => payment.assetId === option.assetId)
        .reduce((total, payment) => total + payment.amount, 0n)
      return sum + valueOfPayment(minor, option.token.decimals, rateOf(row, option.token.symbol))
    }, 0n)
  return {
    dueValue: BigInt(row.due_value),
    seenValue: valueIn(counted),
    finalValue: valueIn(counted.filter((payment) => payment.status === 'finalized')),
    anyLate: counted.some((payment) => payment.detectedAt.getTime() >= row.expires_at.getTime()),
    anyPending: counted.some((payment) => payment.status !== 'finalized'),
    toleranceBasisPoints: row.tolerance_basis_points,
    nowMs: now.getTime(),
    expiresAtMs: row.expires_at.getTime(),
    monitoringUntilMs: monitoringUntil,
  }
}

/**
 * An invoice's view: the payments shown (the newest of any status) and, read apart, those that count, so
 * dust and unsupported transfers to its public address can never push a real payment out of the count.
 */
async function loadView(db: Queryable, row: InvoiceRow, context: InvoiceContext): Promise<InvoiceView> {
  const options = optionViews(await selectOptions(db, row.id), context.networks)
  const owner = { merchantId: row.merchant_id, ownerKind: 'invoice', ownerId: row.id } as const
  const limit = invoiceLimits.paymentsPerInvoiceMax
  const counted = await listOwnerPayments(db, owner, { limit, statuses: countedStatuses })
  const shown = await listOwnerPayments(db, owner, { limit })
  return viewOf(row, options, shown, context, counted)
}

function viewOf(
  row: InvoiceRow,
  options: readonly InvoiceOptionView[],
  payments: readonly Payment[],
  context: InvoiceContext,
  counted: readonly Payment[] = payments,
): InvoiceView {
  const facts = factsOf(row, options, counted, context.now())
  return {
    row,
    options,
    payments,
    counted,
    facts,
    paid: formatUnits(facts.seenValue, valueDecimals),
    due: formatUnits(facts.dueValue, valueDecimals),
  }
}

/** An invoice of the store with its options and payments; another store's invoice is not found. */
export async function getInvoice(
  db: Queryable,
  merchantId: string,
  id: string,
  context: InvoiceContext,
): Promise<InvoiceView> {
  const row = await selectInvoice(db, id)
  if (row === undefined || row.merchant_id !== merchantId) throw invoiceNotFound()
  return await loadView(db, row, context)
}

/** For the public checkout: the invoice by id alone (the id is the unguessable capability). */
export async function getInvoiceForCheckout(
  db: Queryable,
  id: string,
  context: InvoiceContext,
): Promise<InvoiceView> {
  const row = await selectInvoice(db, id)
  if (row === undefined) throw invoiceNotFound()
  return await loadView(db, row, context)
}

export async function listInvoices(
  db: Queryable,
  merchantId: string,
  page: { limit: number; startingAfter?: string | undefined; status?: InvoiceStatus | undefined },
): Promise<{ rows: InvoiceRow[]; hasMore: boolean }> {
  const rows = await selectInvoices(db, merchantId, {
    limit: page.limit + 1,
    ...(page.startingAfter === undefined ? {} : { startingAfter: page.startingAfter }),
    ...(page.status === undefined ? {} : { status: page.status }),
  })
  return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit }
}

function eventPayload(view: InvoiceView, state: InvoiceState) {
  return {
    invoice_id: view.row.id,
    status: state.status,
    exception: state.exception,
    currency: view.row.currency,
    amount: view.row.amount,
    paid: view.paid,
    order_id: view.row.order_id,
  }
}

/** An evaluation's outcome: the invoice's state, and whether part of its buyer credit waits for funds. */
export type InvoiceEvaluation = Readonly<{
  state: InvoiceState
  /**
   * Some of the overpayment owed to the buyer credit is not credited yet: the store's available balance
   * cannot cover it now (refunds or payouts reserved it). Evaluating again later credits it.
   */
  buyerCreditWaiting: boolean
}>

/**
 * Re-evaluates an invoice from its payments and the clock; on a change, writes the new state and its
 * events, and for a settled invoice tops its buyer credit up to the overpayment, all in one transaction.
 */
export async function reevaluateInvoice(
  pool: Pool,
  id: string,
  context: InvoiceContext,
): Promise<InvoiceState | undefined> {
  return (await reevaluateInvoiceWithCredit(pool, id, context))?.state
}

/** As reevaluateInvoice, telling also whether part of the buyer credit waits for the store's funds. */
export async function reevaluateInvoiceWithCredit(
  pool: Pool,
  id: string,
  context: InvoiceContext,
): Promise<InvoiceEvaluation | undefined> {
  return await withTransaction(pool, async (client) => {
    // The row lock serialises evaluations of the invoice: each reads what the previous one credited.
    const row = await selectInvoice(client, id, { forUpdate: true })
    if (row === undefined) return undefined
    return await evaluateLockedInvoice(client, row, context)
  })
}

/** The evaluation itself, on an invoice row the caller's transaction has locked (FOR UPDATE). */
async function evaluateLockedInvoice(
  client: PoolClient,
  row: InvoiceRow,
  context: InvoiceContext,
): Promise<InvoiceEvaluation> {
  const view = await loadView(client, row, context)
  const previous: InvoiceState = { status: row.status, exception: row.exception }
  const next = evaluateInvoice(previous, view.facts)
  if (next.status !== previous.status || next.exception !== previous.exception) {
    await updateInvoiceState(client, row.id, next)
    for (const type of eventsForChange(previous, next)) {
      await recordEvent(client, {
        type,
        merchantId: row.merchant_id,
        subjectId: row.id,
        payload: eventPayload(view, next),
      })
    }
  }
  // Every evaluation of a settled invoice, not only the one that settles it: an excess can arrive later
  // (a second payment, a late one, on another network), and each one is the buyer's too.
  const waiting = next.status === 'settled' ? await creditOverpayment(client, view) : false
  return { state: next, buyerCreditWaiting: waiting }
}

/**
 * Evaluates the invoice now, in the caller's transaction, and so tops its buyer credit up to what its
 * overpayment owes: for a refund about to split itself between the buyer credit and the store's balance
 * (docs/adr/0013). Not from the stored status: a payment final since the last evaluation (its job not run
 * yet, or workers down) may settle the invoice and owe the buyer an excess the refund must not take from
 * the store a second time (review, 2026-11-22). Locks the invoice row first, the lock evaluations take,
 * so neither can credit what the other did. Returns true when part of the credit still waits for the
 * store's available balance. Another store's invoice is not found.
 */
export async function topUpBuyerCredit(
  client: PoolClient,
  merchantId: string,
  invoiceId: string,
  context: InvoiceContext,
): Promise<boolean> {
  const row = await selectInvoice(client, invoiceId, { forUpdate: true })
  if (row === undefined || row.merchant_id !== merchantId) throw invoiceNotFound()
  return (await evaluateLockedInvoice(client, row, context)).buyerCreditWaiting
}

/** The ledger code of an overpayment moved to the buyer credit; what was credited so far is read by it. */
const overpaymentCode = 'invoice-overpayment'

/**
 * The part of a settled invoice's final payments above the amount due is the buyer's, not the merchant's:
 * it moves to a buyer-credit account of the invoice (refundable later), in the assets it arrived in (one
 * address serves every accepted network: the excess may sit in another asset than the last payment's),
 * never more of an asset than arrived in it. Tops up: what the ledger shows credited already is
 * subtracted, so each evaluation credits only what arrived since, and a retry credits nothing twice.
 * Transfer ids number the invoice's credits (`invoice-overpaid:<invoice>:<n>`): under the row lock n is
 * the count read from the ledger, so a replayed evaluation can only repeat a credit, never add one. What
 * the store's available balance cannot cover now is left for a later evaluation (returns true).
 */
async function creditOverpayment(client: PoolClient, view: InvoiceView): Promise<boolean> {
  const owedValue = view.facts.finalValue - view.facts.dueValue
  if (owedValue <= 0n) return false
  const credited = await overpaymentCredited(client, view.row.id)
  const parts: BuyerCreditPart[] = []
  for (const receipt of finalReceiptsByAsset(view)) {
    const assetId = receipt.option.assetId
    const creditedMinor = credited.byAsset.get(assetId) ?? 0n
    parts.push({
      assetId,
      decimals: receipt.option.token.decimals,
      rateScaled: rateOf(view.row, receipt.option.token.symbol),
      arrivedMinor: receipt.minor,
      creditedMinor,
      // Only read where there is something left to credit.
      coverableMinor:
        receipt.minor > creditedMinor ? await storeAvailable(client, view.row.merchant_id, assetId) : 0n,
    })
  }
  const plan = planBuyerCredit(owedValue, parts)
  let sequence = credited.count
  for (const credit of plan.credits) {
    sequence += 1
    await creditBuyer(client, view, credit, sequence)
  }
  return plan.short
}

/** Final, counted payments per accepted asset, in minor units (assets that received none left out). */
function finalReceiptsByAsset(view: InvoiceView) {
  const monitoringUntil = view.row.monitoring_until.getTime()
  const parts = view.options.map((option) => {
    const minor = view.counted
      .filter(
        (payment) =>
          payment.status === 'finalized' &&
          payment.assetId === option.assetId &&
          payment.detectedAt.getTime() < monitoringUntil,
      )
      .reduce((sum, payment) => sum + payment.amount, 0n)
    return { option, minor }
  })
  return parts.filter((part) => part.minor > 0n)
}

/** The overpayment credited so far to the invoice's buyer credit, per asset, and how many transfers. */
async function overpaymentCredited(
  client: PoolClient,
  invoiceId: string,
): Promise<{ byAsset: Map<string, bigint>; count: number }> {
  const byAsset = new Map<string, bigint>()
  let count = 0
  const accounts = (await listOwnerBalances(client, 'customer', invoiceId)).filter(
    (balance) => balance.account.purpose === 'buyer-credit',
  )
  const pagesMax = invoiceLimits.buyerCreditLinesReadMax / invoiceLimits.buyerCreditPageSize
  for (const { account } of accounts) {
    let afterSeq: bigint | null = 0n
    for (let page = 0; afterSeq !== null; page += 1) {
      // Far above what 1,000 payments and 100 refunds write: this invoice fails to evaluate, no other.
      if (page >= pagesMax)
        throw new Error(`buyer credit ${account.id} has more than ${pagesMax} pages of transfers`)
      const statement = await getAccountStatement(client, account.id, {
        afterSeq,
        pageSize: invoiceLimits.buyerCreditPageSize,
      })
      for (const line of statement.lines) {
        if (line.side !== 'credit' || line.kind !== 'single' || line.code !== overpaymentCode) continue
        byAsset.set(account.assetId, (byAsset.get(account.assetId) ?? 0n) + line.amount)
        count += 1
      }
      afterSeq = statement.nextAfterSeq
    }
  }
  return { byAsset, count }
}

const availableAccount = (client: PoolClient, merchantId: string, assetId: string) =>
  getOrCreateAccount(client, {
    ownerType: 'merchant',
    ownerId: merchantId,
    purpose: 'available',
    assetId,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })

/** What the store can move in the asset now (posted less reservations). */
async function storeAvailable(client: PoolClient, merchantId: string, assetId: string): Promise<bigint> {
  const account = await availableAccount(client, merchantId, assetId)
  return (await getAccountBalance(client, account.id)).available
}

async function creditBuyer(
  client: PoolClient,
  view: InvoiceView,
  credit: Readonly<{ assetId: string; minor: bigint }>,
  sequence: number,
) {
  const { assetId } = credit
  const buyerCredit = await getOrCreateAccount(client, {
    ownerType: 'customer',
    ownerId: view.row.id,
    purpose: 'buyer-credit',
    assetId,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })
  await createTransfer(client, {
    kind: 'single',
    id: `invoice-overpaid:${view.row.id}:${sequence}`,
    debitAccountId: (await availableAccount(client, view.row.merchant_id, assetId)).id,
    creditAccountId: buyerCredit.id,
    assetId,
    amount: credit.minor,
    code: overpaymentCode,
    metadata: { invoice_id: view.row.id },
  })
}

/**
 * Evaluates open invoices whose expiry or monitoring end has passed (bounded; the scan repeats). One
 * invoice that fails does not hold back the others: each is tried, and the first failure is thrown after.
 */
export async function expireDueInvoices(pool: Pool, context: InvoiceContext): Promise<number> {
  const ids = await selectDueForExpiry(pool, context.now(), invoiceLimits.expiryScanBatchMax)
  const failures: unknown[] = []
  for (const id of ids) await reevaluateInvoice(pool, id, context).catch((error) => failures.push(error))
  if (failures.length > 0)
    throw new Error(`${failures.length} of ${ids.length} due invoices failed to evaluate`, {
      cause: failures[0],
    })
  return ids.length
}

/** A person marks an invoice settled or invalid; audited (who, when, why) and announced. */
export async function markInvoice(
  pool: Pool,
  input: {
    merchantId: string
    id: string
    mark: ManualMark
    apiKeyId: string
    reason?: string | undefined
    revision?: number | undefined
  },
  context: InvoiceContext,
): Promise<InvoiceView> {
  return await withTransaction(pool, async (client) => {
    const row = await selectInvoice(client, input.id, { forUpdate: true })
    if (row === undefined || row.merchant_id !== input.merchantId) throw invoiceNotFound()
    if (input.revision !== undefined && input.revision !== row.revision) throw invoiceOldRevision()
    const previous: InvoiceState = { status: row.status, exception: row.exception }
    if (!canMark(previous, input.mark)) throw invoiceStatusConflict(row.status, input.mark)
    const next = applyMark(previous, input.mark)
    await updateInvoiceState(client, row.id, next)
    await insertMark(client, {
      invoiceId: row.id,
      apiKeyId: input.apiKeyId,
      fromStatus: row.status,
      toStatus: next.status,
      reason: input.reason ?? null,
    })
    const view = await loadView(client, { ...row, ...next }, context)
    await recordEvent(client, {
      type: next.status === 'settled' ? 'invoice.settled' : 'invoice.invalid',
      merchantId: row.merchant_id,
      subjectId: row.id,
      payload: { ...eventPayload(view, next), marked: true },
    })
    return await getInvoice(client, input.merchantId, input.id, context)
  })
}
