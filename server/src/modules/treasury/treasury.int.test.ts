import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { type Address, erc20Abi } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CustodyFixture,
  fixtureNetworkName,
  startCustodyFixture,
} from '../../../test/setup/custody-fixture.ts'
import type { HotWalletBand, NetworkConfig } from '../../config/config.types.ts'
import { createSendTreasurySweepsRunner, createWatchTreasuryRunner } from '../../jobs/treasury.ts'
import { createLogger } from '../../lib/logger.ts'
import { buildReferenceSigner } from '../../main/commands/signer.ts'
import { createRemoteSigner } from '../signers/signer.remote.ts'
import {
  decideTreasuryProposal,
  getTreasuryProposal,
  listTreasuryBalances,
  listTreasuryProposals,
} from './treasury.service.ts'
import type { TreasuryProposal } from './treasury.types.ts'

// The hot wallet against its floor and ceiling on anvil (both sides of each), idempotent proposals with
// their events, a treasurer's TOTP approval, and the sweep to cold signed by the reference remote signer.
const usdc = (whole: bigint) => whole * 10n ** 6n
const silent = createLogger('silent')
const secret = randomBytes(32)

let fixture: CustodyFixture
let cold: Address
let server: FastifyInstance
let secretFile: string
let signerUrl: string

function networkWith(bands: Record<string, HotWalletBand>, remote = false): NetworkConfig {
  return {
    ...fixture.network,
    treasury: { coldAddress: cold, hotWallet: bands },
    ...(remote ? { signer: { kind: 'remote' as const, url: signerUrl, secretFile } } : {}),
  }
}

async function watch(network: NetworkConfig): Promise<void> {
  const run = createWatchTreasuryRunner({
    pool: fixture.database.pool,
    logger: silent,
    networks: [network],
    masterKeyProvider: fixture.provider,
    now: fixture.now,
  })
  await run()
}

async function proposals(kind: TreasuryProposal['kind'], asset: string): Promise<TreasuryProposal[]> {
  const all = await listTreasuryProposals(fixture.database.pool, { limit: 100 })
  return all.filter((proposal) => proposal.kind === kind && proposal.assetId === asset)
}

async function eventsOf(subjectId: string): Promise<string[]> {
  const result = await fixture.database.pool.query<{ type: string }>(
    'select type from events where subject_id = $1 order by sequence',
    [subjectId],
  )
  return result.rows.map((row) => row.type)
}

async function hotBalance(token: Address): Promise<bigint> {
  return await fixture.chain.publicClient.readContract({
    address: token,
    abi: erc20Abi,
    functionName: 'balanceOf',
    args: [fixture.hotWallet],
  })
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    return (error as { code: string }).code
  }
  throw new Error('expected a refusal')
}

function decide(
  proposal: TreasuryProposal,
  who: 'treasurer' | 'approver',
  change: { revision?: number; code?: string } = {},
) {
  const person = who === 'treasurer' ? fixture.treasurer : fixture.approver
  const { code, at } = fixture.nextCode(person.totpSecret)
  return decideTreasuryProposal(
    fixture.database.pool,
    {
      id: proposal.id,
      revision: change.revision ?? proposal.revision,
      merchantId: fixture.merchantId,
      approverId: person.approver.id,
      totpCode: change.code ?? code,
      decision: 'approve',
    },
    at,
  )
}

beforeAll(async () => {
  fixture = await startCustodyFixture()
  cold = fixture.destination(15)
  secretFile = join(mkdtempSync(join(tmpdir(), 'sluice-treasury-')), 'signer.secret')
  writeFileSync(secretFile, secret.toString('hex'), { mode: 0o600 })
  server = await buildReferenceSigner(
    {
      pool: fixture.database.pool,
      masterKeyProvider: fixture.provider,
      networks: [fixture.network],
      logger: silent,
    },
    { secretFile },
  )
  signerUrl = await server.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await server?.close()
  await fixture?.stop()
})

describe('hot wallet floor', () => {
  it('at the floor nothing; one minor unit below, one top-up request (idempotent) with its event', async () => {
    await fixture.fund('USDC', usdc(300n))
    const balance = await hotBalance(fixture.chain.tokens.usdc)
    const asset = `USDC@${fixtureNetworkName}`
    await watch(networkWith({ USDC: { floorMinor: balance, ceilingMinor: balance + usdc(1_000n) } }))
    expect(await proposals('topup_from_cold', asset)).toHaveLength(0)
    const below = networkWith({ USDC: { floorMinor: balance + 1n, ceilingMinor: balance + usdc(1_000n) } })
    await watch(below)
    await watch(below)
    const [topUp, ...more] = await proposals('topup_from_cold', asset)
    expect(more).toHaveLength(0)
    expect(topUp).toMatchObject({
      status: 'open',
      amount: 1n,
      balanceSeen: balance,
      coldAddress: cold.toLowerCase(),
    })
    expect(await eventsOf(topUp!.id)).toEqual(['treasury.topup_requested'])
    // A top-up is carried out offline with the cold key: it cannot be approved for signing here.
    expect(await refusal(decide(topUp!, 'treasurer'))).toBe('treasury-proposal-not-approvable')
  })

  it('back within the band, the open request resolves itself', async () => {
    const balance = await hotBalance(fixture.chain.tokens.usdc)
    await watch(networkWith({ USDC: { floorMinor: 0n, ceilingMinor: balance } }))
    const [topUp] = await proposals('topup_from_cold', `USDC@${fixtureNetworkName}`)
    expect(topUp?.status).toBe('resolved')
  })
})

describe('hot wallet ceiling', () => {
  it('at the ceiling nothing; one minor unit above, one sweep proposal (idempotent) with its event', async () => {
    const balance = await hotBalance(fixture.chain.tokens.usdc)
    const asset = `USDC@${fixtureNetworkName}`
    await watch(networkWith({ USDC: { floorMinor: 0n, ceilingMinor: balance } }))
    expect(await proposals('sweep_to_cold', asset)).toHaveLength(0)
    const above = networkWith({ USDC: { floorMinor: 0n, ceilingMinor: balance - 1n } })
    await watch(above)
    await watch(above)
    const [sweep, ...more] = await proposals('sweep_to_cold', asset)
    expect(more).toHaveLength(0)
    expect(sweep).toMatchObject({ status: 'open', amount: 1n })
    expect(await eventsOf(sweep!.id)).toEqual(['treasury.sweep_to_cold_proposed'])
  })

  it('a treasurer approves with TOTP (stale revision, wrong code, wrong role refused); the remote signer signs; cold receives the excess', async () => {
    await fixture.fund('USDT', usdc(1_000n))
    const asset = `USDT@${fixtureNetworkName}`
    const network = networkWith({ USDT: { floorMinor: usdc(100n), ceilingMinor: usdc(400n) } }, true)
    await watch(network)
    const [proposal] = await proposals('sweep_to_cold', asset)
    expect(proposal).toMatchObject({ status: 'open', amount: usdc(600n) })
    // Not approved yet: the reference signer refuses to sign it.
    const remote = createRemoteSigner({ url: signerUrl, secret, maxFeePerGasCapWei: 10n ** 30n })
    const unapproved = {
      network: fixtureNetworkName,
      chainId: fixture.network.chainId,
      from: fixture.hotWallet,
      transaction: {
        to: fixture.chain.tokens.usdt,
        data: `0xa9059cbb${cold.slice(2).toLowerCase().padStart(64, '0')}${usdc(600n).toString(16).padStart(64, '0')}` as const,
        value: 0n,
        gas: 100_000n,
        nonce: 500,
        maxFeePerGas: 2_000_000_000n,
        maxPriorityFeePerGas: 1_000_000_000n,
      },
      pays: [
        {
          kind: 'treasury-sweep' as const,
          id: proposal!.id,
          merchantId: null,
          revision: proposal!.revision,
          tokenAddress: fixture.chain.tokens.usdt,
          destination: cold,
          amount: usdc(600n),
        },
      ],
    }
    expect(await refusal(remote.sign(unapproved))).toBe('signer-item-not-approved')
    expect(await refusal(decide(proposal!, 'approver'))).toBe('approver-not-eligible')
    expect(await refusal(decide(proposal!, 'treasurer', { revision: proposal!.revision - 1 }))).toBe(
      'treasury-proposal-old-revision',
    )
    expect(await refusal(decide(proposal!, 'treasurer', { code: '000000' }))).toBe('approval-totp-invalid')
    const current = await getTreasuryProposal(fixture.database.pool, proposal!.id)
    const approved = await decide(current, 'treasurer')
    expect(approved).toMatchObject({ status: 'approved', decidedBy: fixture.treasurer.approver.id })
    const send = createSendTreasurySweepsRunner({
      pool: fixture.database.pool,
      logger: silent,
      networks: [network],
      masterKeyProvider: fixture.provider,
    })
    await send()
    expect((await getTreasuryProposal(fixture.database.pool, proposal!.id)).status).toBe('sent')
    await fixture.chain.mine(3)
    await send()
    const done = await getTreasuryProposal(fixture.database.pool, proposal!.id)
    expect(done).toMatchObject({ status: 'completed', error: null })
    expect(await fixture.transfersTo(fixture.chain.tokens.usdt, cold)).toBe(1)
    expect(await hotBalance(fixture.chain.tokens.usdt)).toBe(usdc(400n))
    // Watched again: the hot wallet sits at its ceiling (nothing new) and the cold balance is shown.
    await watch(network)
    expect(await proposals('sweep_to_cold', asset)).toHaveLength(1)
    const balances = await listTreasuryBalances(fixture.database.pool)
    expect(balances.find((entry) => entry.assetId === asset && entry.wallet === 'cold')).toMatchObject({
      address: cold.toLowerCase(),
      balance: usdc(600n),
    })
    expect(balances.find((entry) => entry.assetId === asset && entry.wallet === 'hot')?.balance).toBe(
      usdc(400n),
    )
  })
})
