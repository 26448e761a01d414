import { batchTransferAbi } from '@sluice/contracts/artifacts/BatchTransfer'
import {
  type Address,
  createPublicClient,
  encodeFunctionData,
  fallback,
  type Hex,
  http,
  keccak256,
  maxUint256,
  parseAbi,
  parseTransaction,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { limits } from '../../config/limits.ts'
import type { Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { assert } from '../../lib/assert.ts'
import { newId } from '../../lib/ids.ts'
import { recordEvents } from '../events/event.service.ts'
import { deriveEvmPrivateKey } from '../keys/key.service.ts'
import { screenAddress } from '../sanctions/sanction.service.ts'
import {
  capFeesForNetwork,
  createNetworkSigner,
  networkFeeCapWei,
  signerRefusalReason,
} from '../signers/signer.service.ts'
import type { Signer } from '../signers/signer.types.ts'
import { gatewayHotWalletPath, type SweepReceipt } from '../sweeps/sweep.types.ts'
import type { BatchTransaction, PayoutBatch } from './payout.batch.repo.ts'
import * as batchRepo from './payout.batch.repo.ts'
import { type Fees, feesFor, replacementFees } from './payout.fees.ts'
import { bookBatchApprovalFee, bookBatchFinal, bookPayoutFailed, splitBatchFee } from './payout.ledger.ts'
import { payoutLimits } from './payout.limits.ts'
import * as repo from './payout.repo.ts'
import {
  checkReadiness,
  errorText,
  failBeforeSigning,
  hotWalletShortReason,
  networkFeeOf,
  noteWaiting,
  type PayoutDeps,
  type PayoutObservation,
} from './payout.send.ts'
import { transition } from './payout.state.ts'
import type { Payout } from './payout.types.ts'

/**
 * Batch payouts (docs/adr/0015-batch-and-canary-payouts.md): 2+ queued payouts of one token on one network
 * go out in one `BatchTransfer.batchTransferPooled` transaction from the hot wallet. Same discipline as single
 * payouts (payout.send.ts): pre-checks and gas estimate first; then in one database transaction lock the
 * items, take one nonce from the shared hot-wallet row, sign, store the batch, its signed bytes and every
 * item's move to `broadcast`; broadcast only after the commit, and from then on re-broadcast the stored bytes
 * (or a same-nonce replacement) until a receipt is final. Items keep their own reservation, states and events.
 *
 * Pre-checks keep one bad item from sinking the batch: a sanctioned destination is blocked, a destination the
 * token blacklists (`isBlackListed` on USDT, `isBlacklisted` on USDC, read by eth_call) fails alone with its
 * reservation voided, items the hot wallet cannot cover wait. If the whole batch still does not simulate, its
 * items go the single-transfer way this tick (each estimated alone, so only the bad one fails). A batch that
 * reverts on chain after signing fails all its items (reservations voided, gas booked): the state machine
 * never moves a signed payout back to queued.
 */

const blacklistAbi = parseAbi([
  'function isBlackListed(address account) view returns (bool)',
  'function isBlacklisted(address account) view returns (bool)',
])
const allowanceAbi = parseAbi([
  'function allowance(address owner, address spender) view returns (uint256)',
  'function approve(address spender, uint256 amount)',
])

/** What batching needs beyond the sweeps' chain adapter: raw eth_call and gas estimates of any call. */
export interface BatchChain {
  /** eth_call; undefined when it reverts or the contract has no such function. */
  call(input: { to: Address; data: Hex }): Promise<Hex | undefined>
  /** Throws when the call would revert. */
  estimateGas(input: { from: Address; to: Address; data: Hex }): Promise<bigint>
}

export function createBatchChain(network: NetworkConfig): BatchChain {
  const transport = fallback(
    network.rpcUrls
      .filter((url) => url.startsWith('http'))
      .map((url) => http(url, { timeout: limits.rpcTimeoutMs, retryCount: 1 })),
    { retryCount: 0 },
  )
  const client = createPublicClient({ transport, cacheTime: 0 })
  return {
    call: async (input) => {
      try {
        return (await client.call({ to: input.to, data: input.data })).data
      } catch {
        return undefined
      }
    },
    estimateGas: (input) => client.estimateGas({ account: input.from, to: input.to, data: input.data }),
  }
}

export type BatchTickReport = { sent: number; failed: number; blocked: number; waiting: number }

const readBool = (data: Hex | undefined) => data !== undefined && data.length >= 66 && BigInt(data) === 1n

/** Whether the token's blacklist names `address` (either spelling); false for tokens without one. */
async function isBlacklisted(batchChain: BatchChain, token: Address, address: Address): Promise<boolean> {
  for (const functionName of ['isBlackListed', 'isBlacklisted'] as const) {
    const data = await batchChain.call({
      to: token,
      data: encodeFunctionData({ abi: blacklistAbi, functionName, args: [address] }),
    })
    if (readBool(data)) return true
  }
  return false
}

/** Batch ids: `pob_` + the ULID part of a payout-style id (lib/ids.ts owns the prefixes). */
function newBatchId(): string {
  return `pob_${newId('po').slice('po_'.length)}`
}

/**
 * Signs a batch through the network's Signer (docs/adr/0016): it decodes `batchTransferPooled` and checks the
 * recipients and amounts against `items`, one for one and in order, before it signs.
 */
async function signBatch(
  deps: PayoutDeps,
  items: readonly Payout[],
  call: { to: Address; data: Hex; nonce: number; gas: bigint; fees: Fees },
): Promise<Omit<BatchTransaction, 'createdAt'>> {
  const network = deps.chain.network
  const signer: Signer =
    deps.signer ??
    (await createNetworkSigner(network, { db: deps.pool, masterKeyProvider: deps.masterKeyProvider }))
  const signed = await signer.sign({
    network: network.name,
    chainId: network.chainId,
    from: deps.hotWalletAddress,
    transaction: { to: call.to, data: call.data, value: 0n, gas: call.gas, nonce: call.nonce, ...call.fees },
    pays: items.map((item) => ({
      kind: 'payout' as const,
      id: item.id,
      merchantId: item.merchantId,
      revision: item.revision,
      tokenAddress: item.tokenAddress as Address,
      destination: item.destination as Address,
      amount: item.amount,
    })),
  })
  return {
    nonce: call.nonce,
    rawTransaction: signed.rawTransaction,
    hash: signed.hash,
    gasLimit: call.gas,
    maxFeePerGas: call.fees.maxFeePerGas,
    maxPriorityFeePerGas: call.fees.maxPriorityFeePerGas,
  }
}

/** The approve transaction, signed with the hot wallet's keystore key (see sendApproval). */
async function signApproval(
  deps: PayoutDeps,
  call: { to: Address; data: Hex; nonce: number; gas: bigint; fees: Fees },
): Promise<Omit<BatchTransaction, 'createdAt'>> {
  const key = await deriveEvmPrivateKey(deps.pool, deps.masterKeyProvider, gatewayHotWalletPath)
  assert(key.address.toLowerCase() === deps.hotWalletAddress.toLowerCase(), 'hot wallet key mismatch')
  const rawTransaction = await privateKeyToAccount(key.privateKey).signTransaction({
    type: 'eip1559',
    chainId: deps.chain.network.chainId,
    to: call.to,
    data: call.data,
    value: 0n,
    gas: call.gas,
    nonce: call.nonce,
    maxFeePerGas: call.fees.maxFeePerGas,
    maxPriorityFeePerGas: call.fees.maxPriorityFeePerGas,
  })
  return {
    nonce: call.nonce,
    rawTransaction,
    hash: keccak256(rawTransaction),
    gasLimit: call.gas,
    maxFeePerGas: call.fees.maxFeePerGas,
    maxPriorityFeePerGas: call.fees.maxPriorityFeePerGas,
  }
}

async function broadcastBatch(
  deps: PayoutDeps,
  batchId: string,
  transaction: { rawTransaction: Hex; hash: Hex },
) {
  const point = { payoutId: batchId, hash: transaction.hash }
  deps.faults?.beforeBroadcast?.(point)
  try {
    const outcome = await deps.chain.broadcast(transaction.rawTransaction)
    if (outcome !== 'accepted') deps.logger.info({ ...point, outcome }, 'batch transaction known to the node')
  } catch (error) {
    deps.logger.warn({ ...point, err: errorText(error) }, 'batch broadcast refused')
    return
  }
  deps.faults?.afterBroadcast?.(point)
  await batchRepo.recordBatchBroadcast(deps.pool, transaction.hash)
}

function batchCallData(token: Address, items: readonly Payout[]): Hex {
  return encodeFunctionData({
    abi: batchTransferAbi,
    functionName: 'batchTransferPooled',
    args: [token, items.map((item) => item.destination as Address), items.map((item) => item.amount)],
  })
}

/**
 * The hot wallet's one-time `approve(contract, max)` for a token, stored and broadcast like a batch. Signers
 * sign only calls that pay approved items (signer.calldata.ts), so the approval is signed with the keystore
 * key, and only where the network signs with the keystore; with a remote signer the operator approves the
 * contract once out of band, and until then payouts go as single transfers. False: no approval was sent.
 */
async function sendApproval(deps: PayoutDeps, token: Address, contract: Address): Promise<boolean> {
  const network = deps.chain.network.name
  if ((deps.chain.network.signer?.kind ?? 'keystore') !== 'keystore' || deps.signer !== undefined)
    return false
  if ((await batchRepo.selectOpenApproval(deps.pool, network, token)) !== undefined) return true
  // An approve that reverted would revert again (and burn gas every tick): an operator has to look.
  if (await batchRepo.hasFailedApproval(deps.pool, network, token)) return false
  const data = encodeFunctionData({
    abi: allowanceAbi,
    functionName: 'approve',
    args: [contract, maxUint256],
  })
  const market = await deps.chain.feeMarket()
  const capped = capFeesForNetwork(deps.chain.network, feesFor(market), market)
  if (capped.kind === 'over-cap') return true
  const fees = capped.fees
  const chainPendingCount = await deps.chain.transactionCount(deps.hotWalletAddress)
  const id = newBatchId()
  const stored = await withTransaction(deps.pool, async (client) => {
    if ((await batchRepo.selectOpenApproval(client, network, token)) !== undefined) return undefined
    const nonce = await repo.takeHotWalletNonce(client, {
      network,
      address: deps.hotWalletAddress,
      chainPendingCount,
    })
    // approve() of a fresh allowance costs ≈ 46k gas on both clones; 100k leaves room for proxies.
    const signed = await signApproval(deps, {
      to: token,
      data,
      nonce,
      gas: 100_000n,
      fees,
    })
    await batchRepo.insertBatch(client, {
      id,
      network,
      kind: 'approve',
      tokenAddress: token,
      contractAddress: contract,
      nonce,
      itemCount: 0,
      total: 0n,
    })
    await batchRepo.insertBatchTransaction(client, id, signed)
    return signed
  })
  if (stored !== undefined) await broadcastBatch(deps, id, stored)
  return true
}

async function readAllowance(deps: PayoutDeps, batchChain: BatchChain, token: Address, contract: Address) {
  const data = await batchChain.call({
    to: token,
    data: encodeFunctionData({
      abi: allowanceAbi,
      functionName: 'allowance',
      args: [deps.hotWalletAddress, contract],
    }),
  })
  return data === undefined || data === '0x' ? 0n : BigInt(data)
}

type Verdict =
  | Readonly<{ kind: 'ok' }>
  | Readonly<{ kind: 'wait'; reason: string }>
  | Readonly<{ kind: 'fail'; reason: string }>
  | Readonly<{ kind: 'block'; reason: string }>

/** The read-only pre-checks of one queued payout (canary order, panic, sanctions, the token's blacklist). */
async function precheck(
  deps: PayoutDeps,
  batchChain: BatchChain,
  payout: Payout,
  panicked: (merchantId: string) => Promise<boolean>,
): Promise<Verdict> {
  const readiness = await checkReadiness(deps, payout)
  if (readiness.kind !== 'ready') return readiness
  if (await panicked(payout.merchantId))
    return { kind: 'wait', reason: 'panic switch engaged; nothing is signed' }
  if ((await screenAddress(deps.pool, payout.destination)).hit)
    return { kind: 'block', reason: 'destination-sanctioned' }
  if (await isBlacklisted(batchChain, payout.tokenAddress as Address, payout.destination as Address))
    return {
      kind: 'fail',
      reason:
        'destination-blacklisted: the token contract blacklists this address, a transfer to it would revert',
    }
  return { kind: 'ok' }
}

/** Pre-checks run this many payouts at a time: reads only, so a 400-item group is not 1,200 round trips in a row. */
const precheckConcurrency = 16

/** Pre-checks a token's group; acts on failed, blocked and waiting items and returns those that may go in. */
async function screenGroup(
  deps: PayoutDeps,
  batchChain: BatchChain,
  group: readonly Payout[],
  report: BatchTickReport,
): Promise<Payout[]> {
  const panic = new Map<string, Promise<boolean>>()
  const panicked = (merchantId: string) => {
    let engaged = panic.get(merchantId)
    if (engaged === undefined) {
      engaged = repo.selectPanicEngaged(deps.pool, merchantId, deps.chain.network.name)
      panic.set(merchantId, engaged)
    }
    return engaged
  }
  const verdicts: Verdict[] = []
  for (let start = 0; start < group.length; start += precheckConcurrency)
    verdicts.push(
      ...(await Promise.all(
        group
          .slice(start, start + precheckConcurrency)
          .map((payout) => precheck(deps, batchChain, payout, panicked)),
      )),
    )
  const passed: Payout[] = []
  for (const [index, payout] of group.entries()) {
    const verdict = verdicts[index] ?? { kind: 'wait', reason: 'not checked' }
    if (verdict.kind === 'ok') passed.push(payout)
    else if (verdict.kind === 'wait') {
      await noteWaiting(deps, payout, verdict.reason)
      report.waiting += 1
    } else {
      await failBeforeSigning(deps, payout, verdict.reason, verdict.kind === 'block')
      if (verdict.kind === 'block') report.blocked += 1
      else report.failed += 1
    }
  }
  return passed
}

/**
 * Signs and broadcasts batches of this tick's queued payouts, oldest first. Returns the queued payouts it
 * leaves to the single-transfer path: a token's lone payout, a group that does not simulate or whose
 * allowance cannot be set. Payouts it failed, blocked, sent or left waiting are not returned, nor those
 * beyond this tick's look (they are looked at next tick).
 */
export async function sendBatches(
  deps: PayoutDeps,
  batchChain: BatchChain,
  report: BatchTickReport,
): Promise<Payout[]> {
  const singles: Payout[] = []
  const contract = deps.chain.network.batchTransferAddress
  const network = deps.chain.network.name
  const queued = await repo.selectOpenPayouts(deps.pool, network, 'queued', payoutLimits.requestBatchItemsMax)
  if (contract === undefined) return queued
  const byToken = new Map<string, Payout[]>()
  for (const payout of queued)
    byToken.set(payout.tokenAddress, [...(byToken.get(payout.tokenAddress) ?? []), payout])
  for (const [tokenAddress, group] of byToken) {
    if (group.length < payoutLimits.batchItemsMin) {
      singles.push(...group)
      continue
    }
    const token = tokenAddress as Address
    const candidates = await screenGroup(deps, batchChain, group, report)
    if (candidates.length < payoutLimits.batchItemsMin) {
      singles.push(...candidates)
      continue
    }
    // The hot wallet's balance less what is signed but not mined yet covers the items in id order.
    let spendable =
      (await deps.chain.tokenBalance(token, deps.hotWalletAddress)) -
      (await batchRepo.selectUnminedAmount(deps.pool, network, token))
    const covered: Payout[] = []
    for (const payout of candidates) {
      if (payout.amount <= spendable) {
        covered.push(payout)
        spendable -= payout.amount
        continue
      }
      await noteWaiting(deps, payout, hotWalletShortReason)
      report.waiting += 1
    }
    for (let start = 0; start < covered.length; start += payoutLimits.batchItemsMax) {
      const chunk = covered.slice(start, start + payoutLimits.batchItemsMax)
      if (chunk.length < payoutLimits.batchItemsMin) {
        singles.push(...chunk)
        continue
      }
      const outcome = await sendBatch(deps, batchChain, token, contract, chunk)
      if (outcome === 'fallback') singles.push(...chunk)
      else if (outcome === 'sent') report.sent += chunk.length
      else report.waiting += chunk.length
    }
  }
  return singles
}

/** queued → broadcast for every item (one statement), each with its payout.sent event, in the signing transaction. */
async function markItemsSigned(
  client: Queryable,
  items: readonly Payout[],
  batch: Readonly<{ batchId: string; hash: Hex; nonce: number }>,
): Promise<void> {
  await batchRepo.updateItems(
    client,
    items.map((item) => item.id),
    { status: transition('queued', 'signed'), nonce: batch.nonce, batchId: batch.batchId, error: null },
  )
  await recordEvents(
    client,
    items.map((item) => ({
      type: 'payout.sent' as const,
      merchantId: item.merchantId,
      subjectId: item.id,
      payload: { payout_id: item.id, tx_hash: batch.hash, nonce: batch.nonce, batch_id: batch.batchId },
    })),
  )
}

async function sendBatch(
  deps: PayoutDeps,
  batchChain: BatchChain,
  token: Address,
  contract: Address,
  items: readonly Payout[],
): Promise<'sent' | 'waiting' | 'fallback'> {
  const network = deps.chain.network.name
  let total = 0n
  for (const item of items) total += item.amount
  const allowance = await readAllowance(deps, batchChain, token, contract)
  if (allowance < total) {
    // USDT refuses approve from one non-zero allowance to another; we only ever approve the maximum once,
    // which neither clone decreases. A smaller non-zero allowance is someone else's doing: send singly.
    if (allowance > 0n || !(await sendApproval(deps, token, contract))) return 'fallback'
    for (const item of items) await noteWaiting(deps, item, 'waiting for the batch contract’s allowance')
    return 'waiting'
  }
  const data = batchCallData(token, items)
  let estimate: bigint
  try {
    estimate = await batchChain.estimateGas({ from: deps.hotWalletAddress, to: contract, data })
  } catch (error) {
    deps.logger.warn(
      { token, items: items.length, err: errorText(error) },
      'batch does not simulate; its payouts go as single transfers',
    )
    return 'fallback'
  }
  const market = await deps.chain.feeMarket()
  const capped = capFeesForNetwork(deps.chain.network, feesFor(market), market)
  if (capped.kind === 'over-cap') {
    for (const item of items) await noteWaiting(deps, item, capped.reason)
    return 'waiting'
  }
  const fees = capped.fees
  const chainPendingCount = await deps.chain.transactionCount(deps.hotWalletAddress)
  const id = newBatchId()
  const stored = await withTransaction(deps.pool, async (client) => {
    const locked = await batchRepo.lockQueuedPayouts(
      client,
      items.map((item) => item.id),
    )
    // Something changed since the pre-checks (a cancel, a panic): sign nothing, look again next tick.
    if (locked.length !== items.length || locked.some((item, index) => item.id !== items[index]?.id))
      return undefined
    for (const merchantId of new Set(locked.map((item) => item.merchantId)))
      if (await repo.selectPanicEngaged(client, merchantId, network)) return undefined
    const nonce = await repo.takeHotWalletNonce(client, {
      network,
      address: deps.hotWalletAddress,
      chainPendingCount,
    })
    const signed = await signBatch(deps, locked, {
      to: contract,
      data,
      nonce,
      gas: (estimate * payoutLimits.batchGasHeadroomPercent + 99n) / 100n,
      fees,
    })
    await batchRepo.insertBatch(client, {
      id,
      network,
      kind: 'transfer',
      tokenAddress: token,
      contractAddress: contract,
      nonce,
      itemCount: items.length,
      total,
    })
    await batchRepo.insertBatchTransaction(client, id, signed)
    await markItemsSigned(client, locked, { batchId: id, hash: signed.hash, nonce })
    return signed
  }).catch(signerRefusalReason)
  if (typeof stored === 'string') {
    for (const item of items) await noteWaiting(deps, item, stored)
    return 'waiting'
  }
  if (stored === undefined) return 'waiting'
  await broadcastBatch(deps, id, stored)
  return 'sent'
}

async function findReceipt(deps: PayoutDeps, transactions: readonly BatchTransaction[]) {
  for (const transaction of [...transactions].reverse()) {
    const receipt = await deps.chain.receipt(transaction.hash)
    if (receipt !== undefined) return { transaction, receipt }
  }
  return undefined
}

async function replaceBatch(deps: PayoutDeps, batch: PayoutBatch, latest: BatchTransaction): Promise<void> {
  const fees = replacementFees(latest, await deps.chain.feeMarket())
  if (fees.maxFeePerGas > networkFeeCapWei(deps.chain.network)) {
    await broadcastBatch(deps, batch.id, latest)
    return
  }
  const transaction = parseTransaction(latest.rawTransaction)
  assert(
    transaction.to !== undefined && transaction.to !== null,
    'a stored batch transaction has a recipient',
  )
  const stored = await withTransaction(deps.pool, async (client) => {
    const locked = await batchRepo.selectBatch(client, batch.id, true)
    if (locked?.status !== 'broadcast') return undefined
    // Same nonce, same call, higher fees: the stuck one and its replacement can only both be this batch.
    const call = {
      to: transaction.to as Address,
      data: transaction.data ?? '0x',
      nonce: latest.nonce,
      gas: latest.gasLimit,
      fees,
    }
    const signed =
      batch.kind === 'approve'
        ? await signApproval(deps, call)
        : await signBatch(deps, await batchRepo.selectBatchItems(client, batch.id, true), call)
    await batchRepo.insertBatchTransaction(client, batch.id, signed)
    await batchRepo.updateBatch(client, batch.id, { error: `replaced ${latest.hash} with higher fees` })
    return signed
  }).catch(signerRefusalReason)
  if (typeof stored === 'string') {
    await broadcastBatch(deps, batch.id, latest)
    await batchRepo.updateBatch(deps.pool, batch.id, { error: stored })
    return
  }
  if (stored !== undefined) await broadcastBatch(deps, batch.id, stored)
}

/** Each item must see exactly its own Transfer contract → destination of its amount (a multiset match). */
function itemsPaid(
  batch: PayoutBatch,
  items: readonly Payout[],
  receipt: SweepReceipt,
): Map<string, boolean> {
  const contract = batch.contractAddress.toLowerCase()
  const remaining = receipt.transfers.filter(
    (transfer) => transfer.tokenAddress === batch.tokenAddress && transfer.from === contract,
  )
  const paid = new Map<string, boolean>()
  for (const item of items) {
    const index =
      receipt.status === 'success'
        ? remaining.findIndex(
            (transfer) => transfer.to === item.destination.toLowerCase() && transfer.amount === item.amount,
          )
        : -1
    paid.set(item.id, index >= 0)
    if (index >= 0) remaining.splice(index, 1)
  }
  return paid
}

async function markBatchIncluded(deps: PayoutDeps, batch: PayoutBatch, hash: Hex, receipt: SweepReceipt) {
  await withTransaction(deps.pool, async (client) => {
    const locked = await batchRepo.selectBatch(client, batch.id, true)
    if (locked === undefined || (locked.status !== 'broadcast' && locked.status !== 'confirmed')) return
    await batchRepo.updateBatch(client, batch.id, {
      status: 'confirmed',
      minedHash: hash,
      blockNumber: receipt.blockNumber,
      error: null,
    })
    // broadcast → confirmed (`included`); a confirmed item only learns the (new) mined hash after a reorg.
    const open = (await batchRepo.selectBatchItems(client, batch.id, true)).filter(
      (item) => item.status === 'broadcast' || item.status === 'confirmed',
    )
    await batchRepo.updateItems(
      client,
      open.map((item) => item.id),
      {
        status: transition('broadcast', 'included'),
        minedHash: hash,
        blockNumber: receipt.blockNumber,
        error: null,
      },
    )
  })
}

async function settleBatch(
  deps: PayoutDeps,
  batch: PayoutBatch,
  hash: Hex,
  receipt: SweepReceipt,
): Promise<{ finalized: number; failed: number }> {
  const fee = receipt.gasUsed * receipt.effectiveGasPrice
  return await withTransaction(deps.pool, async (client) => {
    const locked = await batchRepo.selectBatch(client, batch.id, true)
    if (locked === undefined || (locked.status !== 'broadcast' && locked.status !== 'confirmed'))
      return { finalized: 0, failed: 0 }
    const spent = {
      minedHash: hash,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed,
      effectiveGasPrice: receipt.effectiveGasPrice,
    }
    const reverted = receipt.status !== 'success'
    const batchChange = {
      ...spent,
      status: reverted ? ('failed' as const) : ('finalized' as const),
      error: reverted ? `${batch.kind} reverted on chain` : null,
    }
    if (batch.kind === 'approve') {
      await bookBatchApprovalFee(client, { batchId: batch.id, network: batch.network, fee, hash })
      await batchRepo.updateBatch(client, batch.id, batchChange)
      return { finalized: 0, failed: 0 }
    }
    const items = await batchRepo.selectBatchItems(client, batch.id, true)
    const paid = itemsPaid(batch, items, receipt)
    const shares = splitBatchFee(fee, items.length)
    const open = items
      .map((payout, index) => ({ payout, fee: shares[index] ?? 0n }))
      .filter(({ payout }) => payout.status === 'broadcast' || payout.status === 'confirmed')
    await repo.setNetworkFees(
      client,
      open.map(({ payout, fee: share }) => networkFeeOf(deps, payout, share)),
    )
    const good = open.filter(({ payout }) => paid.get(payout.id) === true)
    const bad = open.filter(({ payout }) => paid.get(payout.id) !== true)
    // broadcast → confirmed → finalized: an item whose receipt is first seen at finality passes `included` too.
    const final = transition(transition('broadcast', 'included'), 'final')
    await bookBatchFinal(client, good, hash)
    await batchRepo.updateItems(
      client,
      good.map(({ payout }) => payout.id),
      { ...spent, status: final, error: null },
    )
    const reason = reverted
      ? 'batch transaction reverted on chain; nothing was paid'
      : 'batch transaction moved no tokens to this destination as planned'
    for (const { payout, fee: share } of bad)
      await bookPayoutFailed(client, payout, reason, { hash, fee: share })
    await batchRepo.updateItems(
      client,
      bad.map(({ payout }) => payout.id),
      { ...spent, status: transition('confirmed', 'failed'), error: reason },
    )
    const events = [
      ...good.map(({ payout }) => ({
        type: 'payout.received' as const,
        merchantId: payout.merchantId,
        subjectId: payout.id,
        payload: { payout_id: payout.id, tx_hash: hash, batch_id: batch.id },
      })),
      ...bad.map(({ payout }) => ({
        type: 'payout.failed' as const,
        merchantId: payout.merchantId,
        subjectId: payout.id,
        payload: { payout_id: payout.id, status: 'failed', reason, tx_hash: hash, batch_id: batch.id },
      })),
    ]
    if (events.length > 0) await recordEvents(client, events)
    await batchRepo.updateBatch(client, batch.id, batchChange)
    return { finalized: good.length, failed: bad.length }
  })
}

/** Resolves every open batch of the network: receipts of all attempts, re-broadcast, replace, settle. */
export async function resolveBatches(
  deps: PayoutDeps,
  observation: PayoutObservation,
): Promise<{ finalized: number; failed: number; replaced: number; waiting: number }> {
  const tally = { finalized: 0, failed: 0, replaced: 0, waiting: 0 }
  for (const batch of await batchRepo.selectOpenBatches(deps.pool, deps.chain.network.name)) {
    const transactions = await batchRepo.selectBatchTransactions(deps.pool, batch.id)
    const latest = transactions.at(-1)
    assert(latest !== undefined, `batch ${batch.id} has no stored transaction`)
    const found = await findReceipt(deps, transactions)
    if (found === undefined) {
      // Reorged out after inclusion: the same signed bytes again, never a second batch.
      const mined = transactions.find((transaction) => transaction.hash === batch.minedHash)
      if (mined !== undefined) {
        await broadcastBatch(deps, batch.id, mined)
        await batchRepo.updateBatch(deps.pool, batch.id, {
          error: `receipt of ${mined.hash} gone (reorg); re-broadcast`,
        })
      } else if (deps.now().getTime() - latest.createdAt.getTime() >= (deps.replaceAfterMs ?? 60_000)) {
        await replaceBatch(deps, batch, latest)
        tally.replaced += 1
        continue
      } else await broadcastBatch(deps, batch.id, latest)
      tally.waiting += 1
      continue
    }
    if (found.receipt.blockNumber > observation.finalizedNumber) {
      if (batch.status === 'broadcast' || batch.minedHash !== found.transaction.hash)
        await markBatchIncluded(deps, batch, found.transaction.hash, found.receipt)
      tally.waiting += 1
      continue
    }
    const settled = await settleBatch(deps, batch, found.transaction.hash, found.receipt)
    tally.finalized += settled.finalized
    tally.failed += settled.failed
  }
  return tally
}
