import { type Address, encodeFunctionData, parseAbi } from 'viem'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import type { Logger } from '../../lib/logger.ts'
import { createTransfers, getOrCreateSystemAccount } from '../ledger/ledger.service.ts'
import type { SingleTransferRequest } from '../ledger/ledger.types.ts'
import { capFeesForNetwork, signerRefusalReason } from '../signers/signer.service.ts'
import type { Signer } from '../signers/signer.types.ts'
import type { SweepChain } from '../sweeps/sweep.types.ts'
import * as repo from './treasury.repo.ts'
import type { TreasuryProposal } from './treasury.types.ts'

/**
 * Sends approved sweeps to the cold wallet, in the transaction manager's order: read the chain first;
 * then in one transaction lock the proposal, take the shared hot-wallet nonce, sign through the network's
 * signer and store the signed bytes; broadcast after the commit. Until a receipt exists the same bytes are
 * broadcast again (no fee replacement yet: a stuck sweep to cold waits, it is never urgent). Final at the
 * network's finality rule, and only if the receipt shows exactly the planned Transfer.
 */
export type SendDeps = Readonly<{
  pool: Pool
  logger: Logger
  chain: SweepChain
  hotWalletAddress: Address
  signer: Signer
}>

const transferAbi = parseAbi(['function transfer(address to, uint256 amount)'])
// Proposals handled per run: sweeps to cold are rare (one per asset at a time), this only bounds the loop.
const proposalsPerRunMax = 32
// Gas limit = estimate × 125 %, as payouts and sweeps (a cold slot or a token upgrade adds a little).
const gasLimitPercent = 125n
const baseFeeMultiplier = 2n

function errorText(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error)
}

async function noteWaiting(deps: SendDeps, proposal: TreasuryProposal, reason: string): Promise<'waiting'> {
  if (proposal.error !== reason)
    await withTransaction(deps.pool, async (client) => {
      const locked = await repo.selectProposal(client, proposal.id, true)
      if (locked?.status === proposal.status)
        await repo.updateProposal(client, proposal.id, { error: reason })
    })
  return 'waiting'
}

async function broadcast(deps: SendDeps, proposal: Pick<TreasuryProposal, 'id' | 'rawTransaction'>) {
  if (proposal.rawTransaction === null) return
  try {
    await deps.chain.broadcast(proposal.rawTransaction)
  } catch (error) {
    // Unknown is not failed: the next run broadcasts the same bytes again.
    deps.logger.warn({ proposalId: proposal.id, err: errorText(error) }, 'sweep to cold broadcast refused')
  }
}

/** approved → sent: signed (through the signer), stored, then broadcast. */
export async function sendApprovedSweep(
  deps: SendDeps,
  proposal: TreasuryProposal,
): Promise<'sent' | 'waiting'> {
  const balance = await deps.chain.tokenBalance(proposal.tokenAddress, deps.hotWalletAddress)
  if (balance < proposal.amount)
    return await noteWaiting(deps, proposal, `hot wallet holds ${balance}, less than the sweep; waiting`)
  let estimate: bigint
  try {
    estimate = await deps.chain.estimateTokenTransferGas({
      from: deps.hotWalletAddress,
      tokenAddress: proposal.tokenAddress,
      to: proposal.coldAddress,
      amount: proposal.amount,
    })
  } catch (error) {
    return await noteWaiting(deps, proposal, `gas estimate failed: ${errorText(error)}`)
  }
  const market = await deps.chain.feeMarket()
  const wanted = {
    maxFeePerGas: market.baseFeePerGas * baseFeeMultiplier + market.priorityFeePerGas,
    maxPriorityFeePerGas: market.priorityFeePerGas,
  }
  const capped = capFeesForNetwork(deps.chain.network, wanted, market)
  if (capped.kind === 'over-cap') return await noteWaiting(deps, proposal, capped.reason)
  const chainPendingCount = await deps.chain.transactionCount(deps.hotWalletAddress)
  const network = deps.chain.network
  const stored = await withTransaction(deps.pool, async (client) => {
    const locked = await repo.selectProposal(client, proposal.id, true)
    if (locked?.status !== 'approved') return undefined
    const nonce = await repo.takeHotWalletNonce(client, {
      network: network.name,
      address: deps.hotWalletAddress,
      chainPendingCount,
    })
    const transaction = {
      to: locked.tokenAddress,
      data: encodeFunctionData({
        abi: transferAbi,
        functionName: 'transfer',
        args: [locked.coldAddress, locked.amount],
      }),
      value: 0n,
      gas: (estimate * gasLimitPercent + 99n) / 100n,
      nonce,
      ...capped.fees,
    }
    const signed = await deps.signer.sign({
      network: network.name,
      chainId: network.chainId,
      from: deps.hotWalletAddress,
      transaction,
      pays: [
        {
          kind: 'treasury-sweep',
          id: locked.id,
          merchantId: null,
          revision: locked.revision,
          tokenAddress: locked.tokenAddress,
          destination: locked.coldAddress,
          amount: locked.amount,
        },
      ],
    })
    return await repo.updateProposal(client, locked.id, {
      status: 'sent',
      signed: { nonce, ...signed, ...capped.fees },
      error: null,
    })
  }).catch(signerRefusalReason)
  if (typeof stored === 'string') return await noteWaiting(deps, proposal, stored)
  if (stored === undefined) return 'waiting'
  await broadcast(deps, stored)
  return 'sent'
}

/**
 * Books a mined sweep in the caller's transaction: the gas it burnt, always (a reverted transaction pays
 * for its gas too, as payouts book theirs: docs/adr/0014 §1), and the move hot → cold only when the
 * tokens moved as planned.
 */
async function bookSweepToCold(
  client: Queryable,
  proposal: TreasuryProposal,
  outcome: Readonly<{ moved: boolean; fee: bigint }>,
) {
  const native = `ETH@${proposal.network}`
  const metadata = { proposal_id: proposal.id, tx_hash: proposal.txHash ?? '' }
  const requests: SingleTransferRequest[] = []
  if (outcome.moved)
    requests.push({
      kind: 'single',
      id: `treasury-sweep:${proposal.id}`,
      debitAccountId: (await getOrCreateSystemAccount(client, 'cold-wallet', proposal.assetId)).id,
      creditAccountId: (await getOrCreateSystemAccount(client, 'hot-wallet', proposal.assetId)).id,
      assetId: proposal.assetId,
      amount: proposal.amount,
      code: 'treasury-sweep-to-cold',
      metadata,
    })
  if (outcome.fee > 0n)
    requests.push({
      kind: 'single',
      id: `treasury-sweep-fee:${proposal.id}`,
      debitAccountId: (await getOrCreateSystemAccount(client, 'network-fee-expense', native)).id,
      creditAccountId: (await getOrCreateSystemAccount(client, 'hot-wallet', native)).id,
      assetId: native,
      amount: outcome.fee,
      code: 'network-fee',
      metadata,
    })
  if (requests.length > 0) await createTransfers(client, requests)
}

/** sent → completed | failed at finality; without a receipt the stored bytes go out again. */
export async function resolveSentSweep(
  deps: SendDeps,
  proposal: TreasuryProposal,
  finalizedNumber: bigint,
): Promise<'completed' | 'failed' | 'waiting'> {
  if (proposal.txHash === null) return 'waiting'
  const receipt = await deps.chain.receipt(proposal.txHash)
  if (receipt === undefined) {
    await broadcast(deps, proposal)
    return 'waiting'
  }
  if (receipt.blockNumber > finalizedNumber) return 'waiting'
  const moved = receipt.transfers.filter(
    (transfer) => transfer.tokenAddress === proposal.tokenAddress.toLowerCase(),
  )
  const asPlanned =
    receipt.status === 'success' &&
    moved.length === 1 &&
    moved[0]?.from === deps.hotWalletAddress.toLowerCase() &&
    moved[0]?.to === proposal.coldAddress.toLowerCase() &&
    moved[0]?.amount === proposal.amount
  return await withTransaction(deps.pool, async (client) => {
    const locked = await repo.selectProposal(client, proposal.id, true)
    if (locked?.status !== 'sent') return 'waiting'
    await bookSweepToCold(client, locked, {
      moved: asPlanned,
      fee: receipt.gasUsed * receipt.effectiveGasPrice,
    })
    await repo.updateProposal(client, locked.id, {
      status: asPlanned ? 'completed' : 'failed',
      blockNumber: receipt.blockNumber,
      error: asPlanned ? null : 'the sweep transaction did not move the tokens as planned',
    })
    return asPlanned ? 'completed' : 'failed'
  })
}

/** One run on one network: resolve what was sent, send what was approved. */
export async function advanceSweepsToCold(
  deps: SendDeps,
  finalizedNumber: bigint,
): Promise<{ sent: number; completed: number; failed: number; waiting: number }> {
  const report = { sent: 0, completed: 0, failed: 0, waiting: 0 }
  const network = deps.chain.network.name
  for (const proposal of await repo.selectOpenProposals(deps.pool, network, ['sent'], proposalsPerRunMax))
    report[await resolveSentSweep(deps, proposal, finalizedNumber)] += 1
  for (const proposal of await repo.selectOpenProposals(deps.pool, network, ['approved'], proposalsPerRunMax))
    report[await sendApprovedSweep(deps, proposal)] += 1
  return report
}
