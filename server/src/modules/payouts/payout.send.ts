import { type Address, encodeFunctionData, type Hex, parseAbi } from 'viem'
import type { Pool } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { assert } from '../../lib/assert.ts'
import type { Logger } from '../../lib/logger.ts'
import { recordEvent } from '../events/event.service.ts'
import type { MasterKeyProvider } from '../keys/key.types.ts'
import { screenAddress } from '../sanctions/sanction.service.ts'
import {
  capFeesForNetwork,
  createNetworkSigner,
  networkFeeCapWei,
  signerRefusalReason,
} from '../signers/signer.service.ts'
import type { Signer } from '../signers/signer.types.ts'
import type { SweepChain, SweepReceipt } from '../sweeps/sweep.types.ts'
import * as batchRepo from './payout.batch.repo.ts'
import { type BatchChain, resolveBatches, sendBatches } from './payout.batch.ts'
import {
  type Fees,
  feesFor,
  gasLimitFor,
  networkFeeInAsset,
  type RateTable,
  replacementFees,
} from './payout.fees.ts'
import { bookPayoutFailed, bookPayoutFinal, voidReservation } from './payout.ledger.ts'
import * as repo from './payout.repo.ts'
import { transition } from './payout.state.ts'
import type { Payout, PayoutSignedTransaction } from './payout.types.ts'

/**
 * The EVM transaction manager for single payouts from the hot wallet. Order as in sweeps: read the chain
 * and derive the key first; then in one transaction lock the payout, take the shared hot-wallet nonce,
 * sign, store the signed bytes; broadcast only after the commit. Afterwards the stored bytes are
 * re-broadcast until a receipt exists (a dropped or reorged-out transaction comes back byte for byte),
 * and a transaction without a receipt after `replaceAfterMs` is replaced at the same nonce with ≥ +10 %
 * fees. All signed attempts are kept; whichever is mined decides. A nonce is never signed twice for two
 * payouts, so there is never a second payout.
 */

// transfer() without a return value: USDT returns nothing, and the Transfer log decides, not a bool.
const transferAbi = parseAbi(['function transfer(address to, uint256 amount)'])

export type PayoutBroadcastPoint = Readonly<{ payoutId: string; hash: Hex }>

export type PayoutDeps = Readonly<{
  pool: Pool
  logger: Logger
  masterKeyProvider: MasterKeyProvider
  /** The sweeps' chain adapter (sweep.types.ts SweepChain): reads, fee market, broadcast, receipts. */
  chain: SweepChain
  hotWalletAddress: Address
  now: () => Date
  /** Who signs (docs/adr/0016); default: the network's configured signer (`networks[].signer`, else keystore). */
  signer?: Signer
  /**
   * eth_call and gas estimates for batch payouts (payout.batch.ts); batches are sent only with it and a
   * `batchTransferAddress` on the network.
   */
  batchChain?: BatchChain
  /** The configuration's `rates`: each payout's gas is also priced in its token (cost KPI); absent = none. */
  rates?: RateTable
  /** A signed transaction without a receipt this long is replaced with higher fees (default 60 s). */
  replaceAfterMs?: number
  /** Test-only crash points: a hook that throws simulates the process dying there. */
  faults?: Readonly<{
    beforeBroadcast?: (point: PayoutBroadcastPoint) => void
    afterBroadcast?: (point: PayoutBroadcastPoint) => void
  }>
}>

export type PayoutObservation = Readonly<{ headNumber: bigint; finalizedNumber: bigint }>
export type PayoutTickReport = {
  released: number
  sent: number
  replaced: number
  finalized: number
  failed: number
  blocked: number
  waiting: number
}

const openPerTickMax = 100
const defaultReplaceAfterMs = 60_000

export function errorText(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error)
}

/**
 * The one signing point (docs/adr/0016-signers-and-cold-wallet.md): the network's Signer gets the unsigned
 * transfer and the payout it pays, and re-checks both (a remote signer also against the database).
 */
async function signTransfer(
  deps: PayoutDeps,
  payout: Payout,
  tx: { nonce: number; gas: bigint; fees: Fees },
) {
  const network = deps.chain.network
  const signer =
    deps.signer ??
    (await createNetworkSigner(network, { db: deps.pool, masterKeyProvider: deps.masterKeyProvider }))
  const signed = await signer.sign({
    network: network.name,
    chainId: network.chainId,
    from: deps.hotWalletAddress,
    transaction: {
      to: payout.tokenAddress as Address,
      data: encodeFunctionData({
        abi: transferAbi,
        functionName: 'transfer',
        args: [payout.destination as Address, payout.amount],
      }),
      value: 0n,
      gas: tx.gas,
      nonce: tx.nonce,
      ...tx.fees,
    },
    pays: [
      {
        kind: 'payout',
        id: payout.id,
        merchantId: payout.merchantId,
        revision: payout.revision,
        tokenAddress: payout.tokenAddress as Address,
        destination: payout.destination as Address,
        amount: payout.amount,
      },
    ],
  })
  return { nonce: tx.nonce, ...signed, ...tx.fees }
}

/** What a payout's gas cost, for the cost KPI: wei, and in its token when the rates price the native coin. */
export function networkFeeOf(deps: PayoutDeps, payout: Payout, feeWei: bigint) {
  const symbol = payout.assetId.split('@')[0] ?? ''
  const priced = networkFeeInAsset(
    feeWei,
    { symbol, decimals: payout.decimals },
    deps.chain.network.nativeSymbol ?? 'ETH',
    deps.rates ?? {},
  )
  return {
    payoutId: payout.id,
    wei: feeWei,
    inAssetMinor: priced?.inAssetMinor ?? null,
    rate: priced?.rate ?? null,
  }
}

/** Broadcasts stored bytes. "Already known" and "nonce too low" are fine: the receipt decides. */
async function broadcastStored(
  deps: PayoutDeps,
  payoutId: string,
  transaction: { rawTransaction: Hex; hash: Hex },
) {
  const point = { payoutId, hash: transaction.hash }
  deps.faults?.beforeBroadcast?.(point)
  try {
    const outcome = await deps.chain.broadcast(transaction.rawTransaction)
    if (outcome !== 'accepted')
      deps.logger.info({ ...point, outcome }, 'payout transaction known to the node')
  } catch (error) {
    // Unknown is not failed: the next tick broadcasts again or replaces.
    deps.logger.warn({ ...point, err: errorText(error) }, 'payout broadcast refused')
    return
  }
  deps.faults?.afterBroadcast?.(point)
  await repo.recordTransactionBroadcast(deps.pool, transaction.hash)
}

export async function failBeforeSigning(deps: PayoutDeps, payout: Payout, reason: string, blocked: boolean) {
  await withTransaction(deps.pool, async (client) => {
    const locked = await repo.selectPayout(client, null, payout.id, true)
    if (locked?.status !== 'queued') return
    await repo.updatePayout(client, payout.id, {
      status: transition('queued', blocked ? 'blocked' : 'failed'),
      error: reason,
    })
    await voidReservation(client, locked, reason)
    await repo.insertAudit(client, {
      merchantId: payout.merchantId,
      subjectId: payout.id,
      action: blocked ? 'payout.blocked' : 'payout.failed',
      actor: 'tx-manager',
      detail: { reason },
    })
    await recordEvent(client, {
      type: 'payout.failed',
      merchantId: payout.merchantId,
      subjectId: payout.id,
      payload: { payout_id: payout.id, status: blocked ? 'blocked' : 'failed', reason },
    })
  })
  deps.logger.warn({ payoutId: payout.id, reason }, 'payout not sent')
}

/** Why a payout waits when the hot wallet, less what is signed and not mined yet, cannot cover it. */
export const hotWalletShortReason = 'hot wallet balance cannot cover this payout yet; waiting'

export async function noteWaiting(deps: PayoutDeps, payout: Payout, reason: string): Promise<'waiting'> {
  if (payout.error !== reason) {
    await withTransaction(deps.pool, async (client) => {
      const locked = await repo.selectPayout(client, null, payout.id, true)
      if (locked !== undefined && locked.status === payout.status)
        await repo.updatePayout(client, payout.id, { error: reason })
    })
  }
  return 'waiting'
}

export type Readiness =
  | Readonly<{ kind: 'ready' }>
  | Readonly<{ kind: 'wait'; reason: string }>
  | Readonly<{ kind: 'fail'; reason: string }>

/**
 * Canary ordering (docs/adr/0015): a canary goes only once its parent is approved (queued or later); a
 * parent goes only once its canary is finalized, and fails when the canary ends any other way.
 */
export async function checkReadiness(deps: PayoutDeps, payout: Payout): Promise<Readiness> {
  if (payout.parentPayoutId !== null) {
    const parent = await repo.selectPayout(deps.pool, null, payout.parentPayoutId)
    if (
      parent?.status === 'pending_approval' ||
      parent?.status === 'delayed' ||
      parent?.status === 'requested'
    )
      return { kind: 'wait', reason: 'canary waits for its payout’s approval or delay' }
  }
  if (payout.canaryPayoutId !== null) {
    const canary = await repo.selectPayout(deps.pool, null, payout.canaryPayoutId)
    if (canary === undefined) return { kind: 'fail', reason: 'canary payout missing' }
    if (canary.status === 'failed' || canary.status === 'cancelled' || canary.status === 'blocked')
      return {
        kind: 'fail',
        reason: `canary payout ${canary.id} ${canary.status}; the remainder is not sent`,
      }
    if (canary.status !== 'finalized')
      return { kind: 'wait', reason: `waiting for canary payout ${canary.id} to be final` }
  }
  return { kind: 'ready' }
}

/** queued → broadcast (signed, stored, then broadcast), or → blocked / failed before anything is signed. */
export async function sendQueuedPayout(
  deps: PayoutDeps,
  payout: Payout,
): Promise<'sent' | 'blocked' | 'failed' | 'waiting'> {
  const readiness = await checkReadiness(deps, payout)
  if (readiness.kind === 'wait') return await noteWaiting(deps, payout, readiness.reason)
  if (readiness.kind === 'fail') {
    await failBeforeSigning(deps, payout, readiness.reason, false)
    return 'failed'
  }
  if (await repo.selectPanicEngaged(deps.pool, payout.merchantId, payout.network))
    return await noteWaiting(deps, payout, 'panic switch engaged; nothing is signed')
  if ((await screenAddress(deps.pool, payout.destination)).hit) {
    await failBeforeSigning(deps, payout, 'destination-sanctioned', true)
    return 'blocked'
  }
  // The chain's balance does not show payouts signed before this one and not mined yet: one they leave
  // uncovered would revert on chain and burn its gas. A short hot wallet makes payouts wait (ADR 0015 §3),
  // as the batch path does.
  const token = payout.tokenAddress as Address
  const spendable =
    (await deps.chain.tokenBalance(token, deps.hotWalletAddress)) -
    (await batchRepo.selectUnminedAmount(deps.pool, payout.network, token))
  if (payout.amount > spendable) return await noteWaiting(deps, payout, hotWalletShortReason)
  let estimate: bigint
  try {
    estimate = await deps.chain.estimateTokenTransferGas({
      from: deps.hotWalletAddress,
      tokenAddress: payout.tokenAddress as Address,
      to: payout.destination as Address,
      amount: payout.amount,
    })
  } catch (error) {
    // The token refuses this transfer (blacklisted party, paused, hot wallet short): it would revert on chain.
    await failBeforeSigning(deps, payout, `token refused the transfer: ${errorText(error)}`, false)
    return 'failed'
  }
  const market = await deps.chain.feeMarket()
  const capped = capFeesForNetwork(deps.chain.network, feesFor(market), market)
  if (capped.kind === 'over-cap') return await noteWaiting(deps, payout, capped.reason)
  const fees = capped.fees
  const chainPendingCount = await deps.chain.transactionCount(deps.hotWalletAddress)
  const stored = await withTransaction(deps.pool, async (client) => {
    const locked = await repo.selectPayout(client, null, payout.id, true)
    if (locked?.status !== 'queued') return undefined
    // Re-checked under the payout's lock: a switch engaged since the first read still stops it.
    if (await repo.selectPanicEngaged(client, payout.merchantId, payout.network)) return undefined
    const nonce = await repo.takeHotWalletNonce(client, {
      network: payout.network,
      address: deps.hotWalletAddress,
      chainPendingCount,
    })
    const signed = await signTransfer(deps, locked, { nonce, gas: gasLimitFor(estimate), fees })
    await repo.insertPayoutTransaction(client, payout.id, signed)
    await repo.updatePayout(client, payout.id, { status: transition('queued', 'signed'), nonce, error: null })
    await recordEvent(client, {
      type: 'payout.sent',
      merchantId: payout.merchantId,
      subjectId: payout.id,
      payload: { payout_id: payout.id, tx_hash: signed.hash, nonce },
    })
    return signed
  }).catch(signerRefusalReason)
  if (typeof stored === 'string') return await noteWaiting(deps, payout, stored)
  if (stored === undefined) return 'waiting'
  await broadcastStored(deps, payout.id, stored)
  return 'sent'
}

async function findReceipt(deps: PayoutDeps, transactions: readonly PayoutSignedTransaction[]) {
  for (const transaction of [...transactions].reverse()) {
    const receipt = await deps.chain.receipt(transaction.hash)
    if (receipt !== undefined) return { transaction, receipt }
  }
  return undefined
}

/** Same nonce, ≥ +10 % fees: the stuck transaction and its replacement can only both be one payout. */
async function replaceStuck(
  deps: PayoutDeps,
  payout: Payout,
  latest: PayoutSignedTransaction,
): Promise<'replaced' | 'waiting'> {
  const fees = replacementFees(latest, await deps.chain.feeMarket())
  if (fees.maxFeePerGas > networkFeeCapWei(deps.chain.network)) {
    await broadcastStored(deps, payout.id, latest)
    return await noteWaiting(deps, payout, 'replacement fees over the cap; re-broadcasting the last one')
  }
  const gas =
    (await deps.chain
      .estimateTokenTransferGas({
        from: deps.hotWalletAddress,
        tokenAddress: payout.tokenAddress as Address,
        to: payout.destination as Address,
        amount: payout.amount,
      })
      .catch(() => undefined)) ?? 100_000n
  const stored = await withTransaction(deps.pool, async (client) => {
    const locked = await repo.selectPayout(client, null, payout.id, true)
    if (locked?.status !== 'broadcast') return undefined
    const signed = await signTransfer(deps, locked, { nonce: latest.nonce, gas: gasLimitFor(gas), fees })
    await repo.insertPayoutTransaction(client, payout.id, signed)
    await repo.updatePayout(client, payout.id, { error: `replaced ${latest.hash} with higher fees` })
    return signed
  }).catch(signerRefusalReason)
  if (typeof stored === 'string') {
    await broadcastStored(deps, payout.id, latest)
    return await noteWaiting(deps, payout, stored)
  }
  if (stored === undefined) return 'waiting'
  await broadcastStored(deps, payout.id, stored)
  return 'replaced'
}

function movedAsPlanned(payout: Payout, receipt: SweepReceipt, from: Address): boolean {
  if (receipt.status !== 'success') return false
  const moved = receipt.transfers.filter((transfer) => transfer.tokenAddress === payout.tokenAddress)
  return (
    moved.length === 1 &&
    moved[0]?.from === from.toLowerCase() &&
    moved[0]?.to === payout.destination.toLowerCase() &&
    moved[0]?.amount === payout.amount
  )
}

/** broadcast/confirmed: receipts of every attempt; none → re-broadcast (or replace when stuck). */
export async function resolveSentPayout(
  deps: PayoutDeps,
  payout: Payout,
  observation: PayoutObservation,
): Promise<'finalized' | 'failed' | 'replaced' | 'waiting'> {
  const transactions = await repo.selectPayoutTransactions(deps.pool, payout.id)
  const latest = transactions.at(-1)
  assert(latest !== undefined, `signed payout ${payout.id} has no stored transaction`)
  const found = await findReceipt(deps, transactions)
  if (found === undefined) {
    // Reorged out after inclusion: the same signed bytes again, never a new payout.
    const mined = transactions.find((transaction) => transaction.hash === payout.minedHash)
    if (mined !== undefined) {
      await broadcastStored(deps, payout.id, mined)
      return await noteWaiting(deps, payout, `receipt of ${mined.hash} gone (reorg); re-broadcast`)
    }
    const age = deps.now().getTime() - latest.createdAt.getTime()
    if (age >= (deps.replaceAfterMs ?? defaultReplaceAfterMs)) return await replaceStuck(deps, payout, latest)
    await broadcastStored(deps, payout.id, latest)
    return 'waiting'
  }
  const { transaction, receipt } = found
  if (receipt.blockNumber > observation.finalizedNumber) {
    if (payout.status === 'broadcast' || payout.minedHash !== transaction.hash)
      await markIncluded(deps, payout, transaction.hash, receipt)
    return 'waiting'
  }
  return await settle(deps, payout, transaction.hash, receipt)
}

async function markIncluded(deps: PayoutDeps, payout: Payout, hash: Hex, receipt: SweepReceipt) {
  await withTransaction(deps.pool, async (client) => {
    const locked = await repo.selectPayout(client, null, payout.id, true)
    if (locked === undefined || (locked.status !== 'broadcast' && locked.status !== 'confirmed')) return
    const status = locked.status === 'broadcast' ? transition('broadcast', 'included') : 'confirmed'
    await repo.updatePayout(client, payout.id, {
      status,
      minedHash: hash,
      blockNumber: receipt.blockNumber,
      error: null,
    })
  })
}

async function settle(
  deps: PayoutDeps,
  payout: Payout,
  hash: Hex,
  receipt: SweepReceipt,
): Promise<'finalized' | 'failed' | 'waiting'> {
  const fee = receipt.gasUsed * receipt.effectiveGasPrice
  const ok = movedAsPlanned(payout, receipt, deps.hotWalletAddress)
  return await withTransaction(deps.pool, async (client) => {
    let locked = await repo.selectPayout(client, null, payout.id, true)
    if (locked === undefined || (locked.status !== 'broadcast' && locked.status !== 'confirmed'))
      return 'waiting'
    if (locked.status === 'broadcast')
      locked = await repo.updatePayout(client, payout.id, {
        status: transition('broadcast', 'included'),
        minedHash: hash,
        blockNumber: receipt.blockNumber,
      })
    const spent = {
      minedHash: hash,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed,
      effectiveGasPrice: receipt.effectiveGasPrice,
    }
    await repo.setNetworkFees(client, [networkFeeOf(deps, locked, fee)])
    if (ok) {
      await bookPayoutFinal(client, locked, hash, fee)
      await repo.updatePayout(client, payout.id, {
        ...spent,
        status: transition('confirmed', 'final'),
        error: null,
      })
      await recordEvent(client, {
        type: 'payout.received',
        merchantId: payout.merchantId,
        subjectId: payout.id,
        payload: { payout_id: payout.id, tx_hash: hash },
      })
      return 'finalized'
    }
    const reason =
      receipt.status === 'reverted'
        ? 'payout transaction reverted on chain'
        : 'payout transaction moved no tokens as planned'
    await bookPayoutFailed(client, locked, reason, { hash, fee })
    await repo.updatePayout(client, payout.id, {
      ...spent,
      status: transition('confirmed', 'failed'),
      error: reason,
    })
    await recordEvent(client, {
      type: 'payout.failed',
      merchantId: payout.merchantId,
      subjectId: payout.id,
      payload: { payout_id: payout.id, status: 'failed', reason, tx_hash: hash },
    })
    return 'failed'
  })
}

async function releaseDelayed(deps: PayoutDeps): Promise<number> {
  const now = deps.now()
  let released = 0
  for (const payout of await repo.selectOpenPayouts(
    deps.pool,
    deps.chain.network.name,
    'delayed',
    openPerTickMax,
  )) {
    if (payout.executeAfter === null || payout.executeAfter > now) continue
    await withTransaction(deps.pool, async (client) => {
      const locked = await repo.selectPayout(client, null, payout.id, true)
      if (locked?.status !== 'delayed') return
      await repo.updatePayout(client, payout.id, { status: transition('delayed', 'delay-elapsed') })
      released += 1
    })
  }
  return released
}

/** One tick on one network: release elapsed delays, resolve what was signed, sign what is queued. */
export async function advancePayouts(
  deps: PayoutDeps,
  observation: PayoutObservation,
): Promise<PayoutTickReport> {
  const network = deps.chain.network.name
  const report: PayoutTickReport = {
    released: await releaseDelayed(deps),
    sent: 0,
    replaced: 0,
    finalized: 0,
    failed: 0,
    blocked: 0,
    waiting: 0,
  }
  if (deps.batchChain !== undefined) {
    const batches = await resolveBatches(deps, observation)
    report.finalized += batches.finalized
    report.failed += batches.failed
    report.replaced += batches.replaced
  }
  // Items of a batch are resolved with their batch (payout.batch.ts).
  for (const status of ['broadcast', 'confirmed'] as const)
    for (const payout of await repo.selectOpenPayouts(deps.pool, network, status, openPerTickMax, true))
      report[await resolveSentPayout(deps, payout, observation)] += 1
  // With a batch contract, batching looks at the queue first; what it leaves (a token's lone payout, a batch
  // that does not simulate, a signer's allowance matter) goes singly. Without one, every payout goes singly.
  const singles =
    deps.batchChain === undefined
      ? await repo.selectOpenPayouts(deps.pool, network, 'queued', openPerTickMax)
      : await sendBatches(deps, deps.batchChain, report)
  for (const payout of singles.slice(0, openPerTickMax)) report[await sendQueuedPayout(deps, payout)] += 1
  return report
}
