import type { NetworkConfig, TokenConfig } from '../../config/config.types.ts'
import { enqueueJobs } from '../../db/job-queue.ts'
import type { Pool, PoolClient, Queryable } from '../../db/pool.ts'
import { assert } from '../../lib/assert.ts'
import { newId } from '../../lib/ids.ts'
import type { TokenTransferLog } from '../chains/chain.types.ts'
import { eventsFromSource, eventsWritten, recordEvents } from '../events/event.service.ts'
import type { EventPayload } from '../events/event.types.ts'
import { createTransfers, getOrCreateAccounts, getOrCreateSystemAccount } from '../ledger/ledger.service.ts'
import type { AccountInput, TransferRequest } from '../ledger/ledger.types.ts'
import { screenAddresses } from '../sanctions/sanction.service.ts'
import {
  selectAddressesCreatedSince,
  selectAddressPrefixesCreatedSince,
  selectSnapshotXmin,
} from './deposit-address.repo.ts'
import { paymentLimits } from './payment.limits.ts'
import {
  orphanPaymentsFrom,
  selectAddressesAfter,
  selectAddressPrefixesBetween,
  selectLastAddressSequence,
  selectOpenPayments,
  updatePaymentsProgress,
  upsertObservedPayments,
} from './payment.repo.ts'
import { classifyNewPayment, type Progress, progressOf } from './payment.state.ts'
import type { ChainObservation, Payment, PaymentEventType } from './payment.types.ts'

// Recording deposits seen on chain: the chain watcher's side of the payments module (record, move
// towards finality, orphan, load the watched addresses). Kept apart from address allocation, which
// derives keys: a watcher process does not load the key and curve libraries it never uses.

/** One token's smallest amount that is not dust: a hundredth of a token (address poisoning sends less). */
export function dustThresholdMinor(token: TokenConfig): bigint {
  return token.decimals >= 2 ? 10n ** BigInt(token.decimals - 2) : 1n
}

/** A payment event's payload. payment.repo.ts builds the same shape in SQL for newly stored payments. */
export function paymentEventPayload(payment: Payment, network: NetworkConfig): EventPayload {
  return {
    payment_id: payment.id,
    network: network.name,
    chain_id: network.chainId,
    asset: payment.assetId,
    amount: payment.amount.toString(),
    tx_hash: payment.txHash,
    log_index: payment.logIndex,
    block_number: payment.blockNumber.toString(),
    from: payment.fromAddress,
    to: payment.toAddress,
    status: payment.status,
    owner: { kind: payment.ownerKind, id: payment.ownerId },
  }
}

/** Job kind the invoices module handles: re-evaluate one invoice after one of its payments changed. */
export const evaluateInvoiceJobKind = 'evaluate-invoice'

/**
 * An invoice's state depends on its payments: each change enqueues a re-evaluation in the same
 * transaction. The dedupe key names the change, so a running evaluation never swallows a newer one.
 */
/** Asks for a re-evaluation of each invoice a payment change touches: one job per payment and change. */
async function notifyOwners(
  client: PoolClient,
  changes: readonly { payment: Payment; change: string }[],
): Promise<void> {
  await enqueueJobs(
    client,
    evaluateInvoiceJobKind,
    changes
      .filter(({ payment }) => payment.ownerKind === 'invoice')
      .map(({ payment, change }) => ({
        payload: { invoice_id: payment.ownerId },
        dedupeKey: `${evaluateInvoiceJobKind}:${payment.id}:${change}`,
      })),
  )
}

/**
 * Records transfers whose recipient may be one of our addresses (candidates from the address set):
 * screens senders, classifies and stores each — the insert confirms the recipient is a deposit address
 * and takes its owner — and writes its event. Runs in the caller's transaction (with the cursor advance),
 * so a crash records all or nothing. A range of thousands of transfers costs two statements (screening;
 * the bulk upsert, which also writes the events), and a third when some pay invoices (their re-evaluation
 * jobs; one statement per payment made a range's transaction as long as ~2,000 round trips). A candidate that is not ours (an 8-byte prefix shared with a
 * watched address: about one in 10^13 logs) has its sender screened too, and is then not stored.
 */
export async function recordObservedTransfers(
  client: PoolClient,
  network: NetworkConfig,
  transfers: readonly TokenTransferLog[],
): Promise<Payment[]> {
  if (transfers.length === 0) return []
  const senders = [...new Set(transfers.map((transfer) => transfer.from))]
  // One screening record per sender, shared by its transfers: the insert sends each distinct one once.
  const screening = new Map(
    (await screenAddresses(client, senders)).map((result, index) => [
      senders[index],
      {
        hit: result.hit,
        record: { sender_hit: result.hit, matches: result.matches, lists: result.screenedAgainst },
      },
    ]),
  )
  const tokens = new Map(network.tokens.map((token) => [token.contractAddress.toLowerCase(), token]))
  const types = new Set<PaymentEventType>()
  const rows = transfers.map((transfer) => {
    const token = tokens.get(transfer.tokenAddress)
    const screened = screening.get(transfer.from)
    const { status, event } = classifyNewPayment({
      assetConfigured: token !== undefined,
      amount: transfer.amount,
      dustThresholdMinor: token === undefined ? 0n : dustThresholdMinor(token),
      senderSanctioned: screened?.hit === true,
    })
    if (event !== null) types.add(event)
    return {
      id: newId('pay'),
      network: network.name,
      ...transfer,
      assetId: token === undefined ? null : `${token.symbol}@${network.name}`,
      fromAddress: transfer.from,
      toAddress: transfer.to,
      status,
      screening: screened?.record ?? { sender_hit: false, matches: [], lists: [] },
      event: event === null ? null : { id: newId('evt'), type: event },
    }
  })
  // The events are written by the insert's own statement, from the stored rows (payment.repo.ts).
  const recorded = await upsertObservedPayments(client, rows, network.chainId, (source) =>
    eventsFromSource(source, [...types]),
  )
  await eventsWritten(client)
  const eventOf = new Map(rows.map((row) => [`${row.txHash}:${row.logIndex}`, row.event?.type]))
  await notifyOwners(
    client,
    recorded.flatMap((payment) => {
      const change = eventOf.get(`${payment.txHash}:${payment.logIndex}`)
      return change === undefined ? [] : [{ payment, change }]
    }),
  )
  return recorded
}

/** Events of many payments in one statement, plus invoice re-evaluations for invoice-owned ones. */
async function emitAll(
  client: PoolClient,
  changes: readonly { type: PaymentEventType; payment: Payment }[],
  network: NetworkConfig,
): Promise<void> {
  await recordEvents(
    client,
    changes.map(({ type, payment }) => ({
      type,
      merchantId: payment.merchantId,
      subjectId: payment.id,
      payload: paymentEventPayload(payment, network),
    })),
  )
  await notifyOwners(
    client,
    changes.map(({ type, payment }) => ({ payment, change: type })),
  )
}

/** The account a finalized payment credits: its customer's, or else its merchant's. */
function creditAccountInput(payment: Payment, assetId: string): AccountInput {
  const customer = payment.ownerKind === 'customer'
  return {
    ownerType: customer ? 'customer' : 'merchant',
    ownerId: customer ? payment.ownerId : payment.merchantId,
    purpose: 'available',
    assetId,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  }
}

/**
 * Moves open payments forward for the chain's current head and finality. Crediting happens here and
 * only here, in the same transaction as the status change and its event. While the network is halted
 * (a reorg deeper than finality) nothing is credited. Many payments cost a few statements: one linked
 * ledger batch per `ledgerBatchMax`, one status update, one event insert.
 */
export async function progressPayments(
  client: PoolClient,
  network: NetworkConfig,
  observation: ChainObservation,
  options: { creditingHalted: boolean },
): Promise<number> {
  const open = await selectOpenPayments(client, network.name, paymentLimits.openPaymentsPerTickMax)
  const moves = open.flatMap((payment) => {
    const progress = haltedProgress(
      progressOf(payment.status, payment.final, payment.blockNumber, observation),
      payment,
      options.creditingHalted,
    )
    return progress.kind === 'none' ? [] : [{ payment, progress }]
  })
  if (moves.length === 0) return 0
  const booked = await bookFinalPayments(
    client,
    moves.filter((move) => move.progress.kind !== 'confirm'),
  )
  const changes = moves.map(({ payment, progress }) => ({
    id: payment.id,
    status:
      progress.kind === 'confirm'
        ? ('confirmed' as const)
        : progress.kind === 'finalize'
          ? ('finalized' as const)
          : ('held' as const),
    final: progress.kind !== 'confirm',
    ledgerTransferId: booked.get(payment.id) ?? null,
  }))
  await updatePaymentsProgress(client, changes)
  await emitAll(
    client,
    moves.flatMap(({ payment, progress }): { type: PaymentEventType; payment: Payment }[] => {
      if (progress.kind === 'confirm')
        return [{ type: progress.event, payment: { ...payment, status: 'confirmed' } }]
      if (progress.kind === 'finalize')
        return [{ type: progress.event, payment: { ...payment, status: 'finalized', final: true } }]
      return []
    }),
    network,
  )
  return moves.length
}

/**
 * Books final payments: each to its owner (finalized) or, when held, to suspense, idempotent by transfer
 * id `payment:<id>`. Owners' accounts are got or created in one statement, system accounts once per
 * asset; transfers go in linked batches.
 */
async function bookFinalPayments(
  client: PoolClient,
  moves: readonly { payment: Payment; progress: Progress }[],
): Promise<Map<string, string>> {
  const systemAccounts = new Map<string, string>()
  const systemAccountOf = async (kind: 'deposit-clearing' | 'suspense', assetId: string) => {
    const key = `${kind}:${assetId}`
    const id = systemAccounts.get(key) ?? (await getOrCreateSystemAccount(client, kind, assetId)).id
    systemAccounts.set(key, id)
    return id
  }
  const credited = moves.filter((move) => move.progress.kind !== 'finalize-held')
  const ownerAccounts = await getOrCreateAccounts(
    client,
    credited.map(({ payment }) => creditAccountInput(payment, payment.assetId as string)),
  )
  const ownerAccountOf = new Map(credited.map((move, index) => [move.payment.id, ownerAccounts[index]?.id]))
  const requests: TransferRequest[] = []
  for (const { payment, progress } of moves) {
    const assetId = payment.assetId as string
    const held = progress.kind === 'finalize-held'
    const creditAccountId = held ? await systemAccountOf('suspense', assetId) : ownerAccountOf.get(payment.id)
    assert(creditAccountId !== undefined, `payment ${payment.id} has no account to credit`)
    requests.push({
      kind: 'single',
      id: `payment:${payment.id}`,
      debitAccountId: await systemAccountOf('deposit-clearing', assetId),
      creditAccountId,
      assetId,
      amount: payment.amount,
      code: held ? 'deposit-held' : 'deposit',
      metadata: { payment_id: payment.id, tx_hash: payment.txHash, network: payment.network },
    })
  }
  const booked = new Map<string, string>()
  for (let first = 0; first < requests.length; first += paymentLimits.ledgerBatchMax) {
    const results = await createTransfers(client, requests.slice(first, first + paymentLimits.ledgerBatchMax))
    for (const [index, result] of results.entries())
      booked.set(moves[first + index]?.payment.id ?? '', result.transfer.id)
  }
  return booked
}

/** While crediting is halted, payments still show as confirmed, but nothing becomes final. */
function haltedProgress(progress: Progress, payment: Payment, halted: boolean): Progress {
  if (!halted || progress.kind === 'none' || progress.kind === 'confirm') return progress
  return payment.status === 'detected' && progress.kind === 'finalize'
    ? { kind: 'confirm', event: 'payment.confirmed' }
    : { kind: 'none' }
}

/** A reorg replaced blocks from `forkBlock` up: their non-final payments become orphaned (with events). */
export async function orphanPayments(
  client: PoolClient,
  network: NetworkConfig,
  forkBlock: bigint,
): Promise<Payment[]> {
  const orphaned = await orphanPaymentsFrom(client, network.name, forkBlock)
  await emitAll(
    client,
    orphaned.map((payment) => ({ type: 'payment.orphaned' as const, payment })),
    network,
  )
  return orphaned
}

/** Deposit addresses created after `afterSequence` (the watcher keeps its address set current with this). */
export async function loadAddressesAfter(db: Queryable, afterSequence: bigint, limit: number) {
  return await selectAddressesAfter(db, afterSequence, limit)
}

/**
 * The addresses created after `afterSequence`, as packed 8-byte prefixes (large watch sets: no object per
 * address), in pages of `pageSize` sequences loaded `concurrency` at a time. Returns the highest sequence
 * loaded (`afterSequence` if none).
 */
export async function loadAddressPrefixesAfter(
  pool: Pool,
  afterSequence: bigint,
  options: {
    pageSize: number
    concurrency: number
    /** Called first with an upper bound on how many addresses follow (sequences only grow). */
    onStart: (countAtMost: bigint) => void
    onPage: (prefixes: Buffer) => void
  },
): Promise<bigint> {
  const last = await selectLastAddressSequence(pool)
  options.onStart(last > afterSequence ? last - afterSequence : 0n)
  const size = BigInt(options.pageSize)
  let next = afterSequence
  let highest = afterSequence
  const loadNextPage = async (): Promise<void> => {
    while (next < last) {
      const range = { after: next, through: next + size < last ? next + size : last }
      next = range.through
      const page = await selectAddressPrefixesBetween(pool, range)
      options.onPage(page.prefixes)
      if (page.lastSequence !== undefined && page.lastSequence > highest) highest = page.lastSequence
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, loadNextPage))
  return highest
}

/**
 * Where a reader of new deposit addresses stands (docs/adr/0011): every address created by a transaction
 * below `sinceXid` has been read. Take the next one *before* reading (currentAddressWatermark), adopt it
 * once the read is done. `sequence` cannot serve: it is taken at insert, not at commit, so a reader
 * following it skips an address whose transaction commits after a later one was read.
 */
export type AddressWatermark = Readonly<{ sinceXid: string }>

/** The oldest transaction still running: every one below it has ended, so its rows are visible now. */
export async function currentAddressWatermark(db: Queryable): Promise<AddressWatermark> {
  return { sinceXid: await selectSnapshotXmin(db) }
}

/**
 * Reads the addresses created at or after `watermark` (whole addresses, for small watch sets), page by
 * page, and returns the next watermark. Addresses of transactions that were still running are read
 * again next time: callers add them to a set.
 */
export async function loadAddressesSince(
  db: Queryable,
  watermark: AddressWatermark,
  pageSize: number,
  onPage: (addresses: readonly string[]) => void,
): Promise<AddressWatermark> {
  const next = await currentAddressWatermark(db)
  let after: { xid: string; address: string } | undefined
  for (;;) {
    const page = await selectAddressesCreatedSince(db, watermark.sinceXid, after, pageSize)
    onPage(page.map((row) => row.address))
    const last = page.at(-1)
    if (last === undefined || page.length < pageSize) return next
    after = { xid: last.createdXid, address: last.address }
  }
}

/** As loadAddressesSince, as packed 8-byte prefixes (large watch sets: no object per address). */
export async function loadAddressPrefixesSince(
  db: Queryable,
  watermark: AddressWatermark,
  pageSize: number,
  onPage: (prefixes: Buffer) => void,
): Promise<AddressWatermark> {
  const next = await currentAddressWatermark(db)
  let after: { xid: string; address: string } | undefined
  for (;;) {
    const page = await selectAddressPrefixesCreatedSince(db, watermark.sinceXid, after, pageSize)
    onPage(page.prefixes)
    if (page.last === undefined || page.count < pageSize) return next
    after = page.last
  }
}
