import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import { createLogger } from '../../lib/logger.ts'
import { getTransfer } from '../ledger/ledger.service.ts'
import type { SweepChain } from '../sweeps/sweep.types.ts'
import * as repo from './treasury.repo.ts'
import { resolveSentSweep } from './treasury.send.ts'

// A sweep to cold that is mined but reverts still burned the hot wallet's gas; the ledger must book
// it (payouts do: ADR 0014 §1, "also when the transaction reverted"), or the ledger drifts from the chain.

const network = offlineNetwork({ name: 'audit-cold', tokenAddress: `0x${'33'.repeat(20)}` })
const hot = `0x${'44'.repeat(20)}` as const
const cold = `0x${'55'.repeat(20)}` as const
let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase()
})

afterAll(async () => {
  await database?.drop()
})

describe('a sweep to cold that reverts on chain', () => {
  it('books the gas it burned', async () => {
    const proposal = await repo.insertProposalIfNoneOpen(database.pool, {
      id: `tpr_01REVERT${Date.now().toString(36).toUpperCase().padStart(19, '0')}`,
      kind: 'sweep_to_cold',
      network: network.name,
      assetId: `USDT@${network.name}`,
      tokenAddress: `0x${'33'.repeat(20)}`,
      hotWalletAddress: hot,
      coldAddress: cold,
      amount: 5_000_000n,
      balanceSeen: 20_000_000n,
      floorMinor: 1_000_000n,
      ceilingMinor: 10_000_000n,
    })
    if (proposal === undefined) throw new Error('no proposal')
    await repo.updateProposal(database.pool, proposal.id, { status: 'approved' })
    const signed = {
      nonce: 7,
      hash: `0x${Date.now().toString(16).padStart(64, '6')}` as const,
      rawTransaction: '0x02' as const,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
    }
    // As the sender does: the attempt is stored with the status change (treasury_sweep_transactions).
    await repo.insertSweepAttempt(database.pool, proposal.id, { ...signed, createdAt: new Date() })
    const sent = await repo.updateProposal(database.pool, proposal.id, { status: 'sent', signed })
    const chain = {
      network,
      receipt: async () => ({
        status: 'reverted' as const,
        blockNumber: 10n,
        gasUsed: 30_000n,
        effectiveGasPrice: 1_500_000_000n,
        transfers: [],
      }),
      broadcast: async () => 'accepted' as const,
    } as unknown as SweepChain
    const outcome = await resolveSentSweep(
      {
        pool: database.pool,
        logger: createLogger('silent'),
        chain,
        hotWalletAddress: hot,
        signer: {} as never,
      },
      sent,
      100n,
    )
    expect(outcome).toBe('failed')
    // 30,000 gas × 1.5 gwei left the hot wallet on chain: the ledger must say so.
    expect(await getTransfer(database.pool, `treasury-sweep-fee:${proposal.id}`)).toMatchObject({
      amount: 45_000_000_000_000n,
    })
  })
})
