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

/** Characters to draw from: every class's members and edges, neighbours of each range, and non-ASCII. */
const alphabet = [...'0123456789abcdefABCDEFgGzZxXIlOo/:;@[\\]^`{|}_-. ', 'é', '€', 'ſ', 'K', '\n']

/** A deterministic pseudo-random stream (mulberry32), so a failure names values that reproduce. */
function randomStream(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Values on both sides of an old pattern `^prefix[class]{min,max}$`: for each count around each bound,
 * strings of the class's own characters (accepted at a count in range), the same with one character
 * drawn from the whole alphabet, and the same with the prefix's case flipped.
 */
function valuesAround(pattern: string): string[] {
  const parsed = /^\^([^[]*)\[([^\]]+)\]\{(\d+)(?:,(\d+))?\}\$$/.exec(pattern)
  if (parsed === null) throw new Error(`unexpected pattern ${pattern}`)
  const [, prefix = '', characterClass = '', minText = '0', maxText] = parsed
  const min = Number(minText)
  const max = Number(maxText ?? minText)
  const member = new RegExp(`^[${characterClass}]$`)
  const members = alphabet.filter((character) => member.test(character))
  const random = randomStream(min * 1_000 + max)
  const pick = (from: readonly string[]) => from[Math.floor(random() * from.length)] ?? ''
  const counts = [...new Set([min - 1, min, min + 1, max - 1, max, max + 1])].filter((count) => count >= 0)
  return counts.flatMap((count) =>
    Array.from({ length: 12 }, (_, variant) => {
      const characters = Array.from({ length: count }, () => pick(members))
      if (variant % 3 === 1 && count > 0) characters[Math.floor(random() * count)] = pick(alphabet)
      const head = variant % 3 === 2 ? prefix.toUpperCase() : prefix
      return head + characters.join('')
    }),
  )
}

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
      const values = [...corpus, ...valuesAround(pattern)]
      const result = await database.pool.query<{
        value: string | null
        now: boolean | null
        before: boolean | null
      }>(
        `select "${check.column}" as value, ${expression} as now, "${check.column}" ~ $2 as before
         from unnest($1::text[]) as row("${check.column}")`,
        [values, pattern],
      )
      expect(result.rows).toHaveLength(values.length)
      // A CHECK passes on true or null, so compare what each would let through.
      const differing = result.rows.filter((row) => (row.now !== false) !== (row.before !== false))
      expect(differing.map((row) => ({ name, value: row.value }))).toEqual([])
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
