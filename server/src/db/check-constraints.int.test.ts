import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'

// Format checks without bounded regex repeats (migration 0022, docs/adr/0023): each rewritten check must
// accept exactly what the pattern it replaced accepted, and no check may bring a bounded repeat back.
let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase({ poolSizeMax: 2 })
})

afterAll(async () => {
  await database?.drop()
})

const hash = `0x${'ab'.repeat(32)}`
const address = `0x${'0f'.repeat(20)}`

/** Each rewritten check and the pattern it replaced (migrations 0004-0019). */
const replaced: Record<string, string> = {
  hd_accounts_xpub_check: '^xpub[1-9A-HJ-NP-Za-km-z]{100,115}$',
  sanction_list_versions_content_hash_check: '^[0-9a-f]{64}$',
  sanction_list_versions_file_sha256_check: '^[0-9a-f]{64}$',
  chain_blocks_hash_check: '^0x[0-9a-f]{64}$',
  deposit_addresses_address_check: '^0x[0-9a-f]{40}$',
  deposit_address_pool_address_check: '^0x[0-9a-f]{40}$',
  payments_tx_hash_check: '^0x[0-9a-f]{64}$',
  idempotency_keys_key_check: '^[A-Za-z0-9_:.-]{1,255}$',
  sweeps_hot_wallet_address_check: '^0x[0-9a-f]{40}$',
  sweeps_token_address_check: '^0x[0-9a-f]{40}$',
  sweeps_sweep_tx_hash_check: '^0x[0-9a-f]{64}$',
  sweeps_top_up_tx_hash_check: '^0x[0-9a-f]{64}$',
  hot_wallet_nonces_address_check: '^0x[0-9a-f]{40}$',
  invoices_currency_check: '^[A-Z]{3,5}$',
  payment_links_currency_check: '^[A-Z]{3,5}$',
  refunds_destination_check: '^0x[0-9a-fA-F]{40}$',
  payouts_token_address_check: '^0x[0-9a-f]{40}$',
  payout_transactions_tx_hash_check: '^0x[0-9a-f]{64}$',
  payout_address_book_address_check: '^0x[0-9a-f]{40}$',
  payout_batches_contract_address_check: '^0x[0-9a-f]{40}$',
  payout_batches_token_address_check: '^0x[0-9a-f]{40}$',
  payout_batch_transactions_tx_hash_check: '^0x[0-9a-f]{64}$',
  dashboard_credentials_login_check: '^[a-z0-9._@-]{1,100}$',
  dashboard_sessions_token_hash_check: '^[0-9a-f]{64}$',
  treasury_proposals_cold_address_check: '^0x[0-9a-f]{40}$',
  treasury_proposals_hot_wallet_address_check: '^0x[0-9a-f]{40}$',
  treasury_proposals_token_address_check: '^0x[0-9a-f]{40}$',
  treasury_proposals_tx_hash_check: '^0x[0-9a-f]{64}$',
  treasury_balances_address_check: '^0x[0-9a-f]{40}$',
  dashboard_passkey_challenges_challenge_hash_check: '^[0-9a-f]{64}$',
}

/** Values on both sides of every replaced pattern: each length bound, each character class, case. */
const corpus: readonly (string | null)[] = [
  null,
  '',
  hash,
  hash.slice(0, -1),
  `${hash}0`,
  hash.toUpperCase(),
  `0X${hash.slice(2)}`,
  `${hash.slice(0, -1)}g`,
  `${hash}\n`,
  `${hash.slice(0, -1)}é`,
  hash.slice(2),
  hash.slice(3),
  `${hash.slice(2)}0`,
  address,
  address.slice(0, -1),
  `${address}0`,
  `0x${'AB'.repeat(20)}`,
  `0x${'aB'.repeat(20)}`,
  `${address.slice(0, -1)}z`,
  `${address} `,
  'USD',
  'US',
  'USDT',
  'USDCX',
  'USDCXY',
  'usd',
  'EU1',
  'k',
  'key-1:a.b_c',
  'key 1',
  'k'.repeat(255),
  'k'.repeat(256),
  'k'.repeat(100),
  'k'.repeat(101),
  'ops@example.com',
  'Ops@example.com',
  `xpub${'A'.repeat(100)}`,
  `xpub${'A'.repeat(99)}`,
  `xpub${'z'.repeat(115)}`,
  `xpub${'z'.repeat(116)}`,
  `xpub${'0'.repeat(110)}`,
  `xpub${'I'.repeat(110)}`,
  `xpub${'l'.repeat(110)}`,
  `xpub${'O'.repeat(110)}`,
  `xprv${'A'.repeat(110)}`,
]

type CheckRow = { name: string; table: string; column: string; definition: string }

async function checks(): Promise<CheckRow[]> {
  const result = await database.pool.query<CheckRow>(
    `select c.conname as name, c.conrelid::regclass::text as table, a.attname as column,
       pg_get_constraintdef(c.oid) as definition
     from pg_constraint c
     join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
     where c.contype = 'c' and c.connamespace = 'public'::regnamespace`,
  )
  return result.rows
}

describe('format checks (migration 0022)', () => {
  it('no check constraint uses a bounded regex repeat', async () => {
    const bounded = (await checks()).filter((check) => /~ '[^']*\{\d/.test(check.definition))
    expect(bounded.map((check) => `${check.name}: ${check.definition}`)).toEqual([])
  })

  it('each rewritten check accepts exactly what its old pattern accepted', async () => {
    const rows = new Map((await checks()).map((check) => [check.name, check]))
    for (const [name, pattern] of Object.entries(replaced)) {
      const check = rows.get(name)
      expect(check, name).toBeDefined()
      if (check === undefined) continue
      const expression = check.definition.replace(/^CHECK /, '')
      for (const value of corpus) {
        const result = await database.pool.query<{ now: boolean | null; before: boolean | null }>(
          `select ${expression} as now, $1::text ~ $2 as before from (select $1::text as "${check.column}") as row`,
          [value, pattern],
        )
        const { now, before } = result.rows[0] ?? {}
        // A CHECK passes on true or null, so compare what each would let through.
        expect({ name, value, passes: now !== false }).toEqual({ name, value, passes: before !== false })
      }
    }
  })

  it('a value of the wrong length is refused by the table itself', async () => {
    const insert = database.pool.query(
      `insert into chain_blocks (network, number, hash) values ('devnet', 1, $1)`,
      [hash.slice(0, -2)],
    )
    await expect(insert).rejects.toMatchObject({ code: '23514', constraint: 'chain_blocks_hash_check' })
  })
})
