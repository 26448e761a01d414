import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import { creditStoreBalance } from '../../../test/setup/store-funding.ts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { withTransaction } from '../../db/tx.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { importSanctionLists } from '../sanctions/sanction.service.ts'
import {
  approvePolicy,
  cancelPayout,
  createPayout,
  decidePayout,
  enrolApprover,
  proposePolicy,
} from './payout.service.ts'
import { totpAt } from './payout.totp.ts'

// Separation of duties and rolling windows where requests meet: two payouts measured at once, and a
// person who requested a payout deciding it through another key (PostgreSQL only, no chain).

const base = offlineNetwork({ name: 'audit-net', tokenAddress: `0x${'11'.repeat(20)}` })
const network: NetworkConfig = {
  ...base,
  tokens: [...base.tokens, { symbol: 'USDC', contractAddress: `0x${'22'.repeat(20)}`, decimals: 6 }],
}
const destination = '0x52908400098527886E0F7030069857D2E4169EE7'

let database: TestDatabase
let clock = new Date()
const context = () => ({ networks: [network], now: () => clock })

async function fund(merchantId: string, symbol: string, amount: bigint) {
  await creditStoreBalance(database.pool, merchantId, `${symbol}@${network.name}`, amount)
}

async function newStore(name: string) {
  const merchantId = (await createMerchant(database.pool, { name })).merchant.id
  await fund(merchantId, 'USDT', 10_000_000_000n)
  await fund(merchantId, 'USDC', 10_000_000_000n)
  return merchantId
}

beforeAll(async () => {
  database = await createTestDatabase()
  const directory = mkdtempSync(join(tmpdir(), 'sluice-sanctions-'))
  chmodSync(directory, 0o755)
  writeFileSync(
    join(directory, 'sanctioned_addresses_ETH.txt'),
    '0x000000000000000000000000000000000000dead\n',
  )
  await importSanctionLists(database.pool, [join(directory, 'sanctioned_addresses_ETH.txt')])
})

afterAll(async () => {
  await database?.drop()
})

describe('rolling-window policy under concurrency', () => {
  it('two concurrent payouts (USDT and USDC) cannot together exceed a store window without approval', async () => {
    const merchantId = await newStore('Window Store')
    const proposer = await enrolApprover(database.pool, { merchantId, name: 'P', roles: ['admin'] })
    const checker = await enrolApprover(database.pool, { merchantId, name: 'C', roles: ['approver'] })
    const version = await proposePolicy(database.pool, {
      merchantId,
      proposedBy: proposer.approver.id,
      policy: {
        rules: [
          {
            id: 'store-window',
            match: { window: { seconds: 3600, max_amount: '100', group_by: 'store' } },
            action: { kind: 'require_approval', approvals: 1, role: 'approver' },
          },
        ],
        default_action: { kind: 'allow' },
      },
    })
    await approvePolicy(
      database.pool,
      {
        merchantId,
        version,
        approverId: checker.approver.id,
        totpCode: totpAt(checker.totpSecret, BigInt(clock.getTime()) / 1000n),
      },
      clock,
    )
    const input = (asset: string) => ({
      merchantId,
      apiKeyId: 'key_initiator',
      network: network.name,
      asset,
      destination,
      amount: '60',
    })
    // Control: one after the other, the second one (60 + 60 > 100) needs an approval.
    const first = await withTransaction(database.pool, (c) => createPayout(c, input('USDT'), context()))
    const second = await withTransaction(database.pool, (c) => createPayout(c, input('USDC'), context()))
    expect([first.status, second.status]).toEqual(['queued', 'pending_approval'])
    await cancelPayout(database.pool, { merchantId, id: first.id, apiKeyId: 'key_initiator' })
    await cancelPayout(database.pool, { merchantId, id: second.id, apiKeyId: 'key_initiator' })

    // Concurrent: two request transactions overlap (both API requests in flight at once). The second is
    // measured while the first is still open: it must wait for the first to commit and then count it.
    const a = await database.pool.connect()
    const b = await database.pool.connect()
    try {
      await a.query('begin')
      await b.query('begin')
      const usdt = await createPayout(a, input('USDT'), context())
      const usdcPending = createPayout(b, input('USDC'), context())
      const raced = await Promise.race([
        usdcPending.then(() => 'measured without waiting'),
        new Promise((resolve) => setTimeout(() => resolve('waiting'), 300)),
      ])
      expect(raced).toBe('waiting')
      await a.query('commit')
      const usdc = await usdcPending
      await b.query('commit')
      // Without the wait, 120 left the store's window of 100 without a single approval.
      expect([usdt.status, usdc.status]).toEqual(['queued', 'pending_approval'])
    } finally {
      a.release()
      b.release()
    }
  })
})

describe('the initiator never counts as an approver', () => {
  it('a person who requested a payout in the dashboard cannot approve it through an API key', async () => {
    const merchantId = await newStore('Four Eyes Store')
    // Built-in policy: one approval by an approver. The person requests in the dashboard, where their
    // approver id stands in as the initiating key (dashboard-auth.ts).
    const person = await enrolApprover(database.pool, { merchantId, name: 'X', roles: ['approver'] })
    const payout = await withTransaction(database.pool, (c) =>
      createPayout(
        c,
        {
          merchantId,
          apiKeyId: person.approver.id,
          network: network.name,
          asset: 'USDT',
          destination,
          amount: '5',
        },
        context(),
      ),
    )
    expect(payout.status).toBe('pending_approval')
    clock = new Date(clock.getTime() + 60_000)
    let code = 'approved'
    try {
      const decided = await decidePayout(
        database.pool,
        {
          merchantId,
          id: payout.id,
          apiKeyId: 'key_backend_with_payouts_approve',
          approverId: person.approver.id,
          totpCode: totpAt(person.totpSecret, BigInt(clock.getTime()) / 1000n),
          revision: payout.revision,
          decision: 'approve',
        },
        clock,
      )
      code = `approved: ${decided.status}`
    } catch (error) {
      code = (error as { code: string }).code
    }
    expect(code).toBe('approver-not-eligible')
  })
})
