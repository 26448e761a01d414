import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { uint256Max } from '../../../../sdk/src/money.ts'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { newId } from '../../lib/ids.ts'
import { fromDatabaseError } from './ledger.errors.ts'
import { ledgerLimits } from './ledger.limits.ts'
import { callPostTransfer, callPostTransfers, type TransferInput } from './ledger.repo.ts'
import {
  createTransfer,
  createTransfers,
  expirePendingTransfers,
  getAccountBalance,
  getOrCreateAccount,
  getOrCreateSystemAccount,
} from './ledger.service.ts'
import type { Account } from './ledger.types.ts'

let database: TestDatabase
let merchant: Account
let funding: Account
let fees: Account
let tronMerchant: Account

const asset = 'USDT@ethereum'

beforeAll(async () => {
  database = await createTestDatabase()
  const db = database.pool
  const merchantInput = {
    ownerType: 'merchant',
    ownerId: 'mer_failures',
    purpose: 'available',
    normalSide: 'credit',
  } as const
  merchant = await getOrCreateAccount(db, {
    ...merchantInput,
    assetId: asset,
    flags: { debitsMustNotExceedCredits: true },
  })
  tronMerchant = await getOrCreateAccount(db, {
    ...merchantInput,
    assetId: 'USDT@tron',
    flags: { debitsMustNotExceedCredits: true },
  })
  funding = await getOrCreateSystemAccount(db, 'suspense', asset)
  fees = await getOrCreateSystemAccount(db, 'fee-revenue', asset)
  await createTransfer(db, single(funding, merchant, 1_000n))
})

afterAll(async () => {
  await database.drop()
})

function single(debit: Account, credit: Account, amount: bigint, id = newId('trf')) {
  const base = {
    id,
    debitAccountId: debit.id,
    creditAccountId: credit.id,
    assetId: debit.assetId,
    code: 'test',
  }
  return { ...base, kind: 'single', amount } as const
}

function pending(amount: bigint, timeoutMs = 60_000, id = newId('trf')) {
  return { ...single(merchant, fees, amount, id), kind: 'pending', timeoutMs } as const
}

async function expectCode(work: Promise<unknown>, code: string): Promise<void> {
  await expect(work).rejects.toMatchObject({ code })
}

/** Straight to ledger_post_transfer: what a caller that skips the TypeScript checks would send. */
function raw(overrides: Partial<TransferInput>): Promise<unknown> {
  const input: TransferInput = {
    id: newId('trf'),
    kind: 'single',
    debit_account_id: funding.id,
    credit_account_id: merchant.id,
    asset_id: asset,
    amount: '1',
    pending_id: null,
    timeout_ms: null,
    code: 'test',
    metadata: {},
    request_hash: '0'.repeat(64),
    ...overrides,
  }
  return callPostTransfer(database.pool, input).catch((error: unknown) => {
    throw fromDatabaseError(error)
  })
}

describe('two-phase failures', () => {
  it('refuses to post a voided pending transfer, and to void a posted one', async () => {
    const voided = pending(10n)
    await createTransfer(database.pool, voided)
    await createTransfer(database.pool, { kind: 'void', id: newId('trf'), pendingId: voided.id })
    await expectCode(
      createTransfer(database.pool, { kind: 'post', id: newId('trf'), pendingId: voided.id }),
      'pending-transfer-already-voided',
    )
    const posted = pending(10n)
    await createTransfer(database.pool, posted)
    await createTransfer(database.pool, { kind: 'post', id: newId('trf'), pendingId: posted.id })
    await expectCode(
      createTransfer(database.pool, { kind: 'void', id: newId('trf'), pendingId: posted.id }),
      'pending-transfer-already-posted',
    )
    await expectCode(
      createTransfer(database.pool, { kind: 'post', id: newId('trf'), pendingId: posted.id }),
      'pending-transfer-already-posted',
    )
  })

  it('posts up to the pending amount, not one unit more', async () => {
    const reservation = pending(10n)
    await createTransfer(database.pool, reservation)
    const post = (amount: bigint) =>
      createTransfer(database.pool, { kind: 'post', id: newId('trf'), pendingId: reservation.id, amount })
    await expectCode(post(11n), 'post-amount-exceeds-pending')
    const { transfer } = await post(10n)
    expect(transfer.amount).toBe(10n)
  })

  it('refuses to post or void an expired pending transfer, before and after the expiry job', async () => {
    const reservation = pending(10n, 1)
    await createTransfer(database.pool, reservation)
    await new Promise((resolve) => setTimeout(resolve, 20))
    await expectCode(
      createTransfer(database.pool, { kind: 'post', id: newId('trf'), pendingId: reservation.id }),
      'pending-transfer-expired',
    )
    await expectCode(
      createTransfer(database.pool, { kind: 'void', id: newId('trf'), pendingId: reservation.id }),
      'pending-transfer-expired',
    )
    expect(await expirePendingTransfers(database.pool, new Date())).toBeGreaterThanOrEqual(1)
    await expectCode(
      createTransfer(database.pool, { kind: 'post', id: newId('trf'), pendingId: reservation.id }),
      'pending-transfer-expired',
    )
    const balance = await getAccountBalance(database.pool, merchant.id)
    expect(balance.balances.debitsPending).toBe(0n)
  })

  it('refuses to resolve what is not a pending transfer', async () => {
    await expectCode(
      createTransfer(database.pool, { kind: 'post', id: newId('trf'), pendingId: 'trf_missing' }),
      'pending-transfer-not-found',
    )
    const plain = single(funding, merchant, 1n)
    await createTransfer(database.pool, plain)
    await expectCode(
      createTransfer(database.pool, { kind: 'void', id: newId('trf'), pendingId: plain.id }),
      'pending-transfer-not-found',
    )
  })
})

describe('transfer failures', () => {
  it('refuses mixed assets', async () => {
    await expectCode(
      createTransfer(database.pool, { ...single(funding, tronMerchant, 1n), assetId: asset }),
      'asset-mismatch',
    )
    await expectCode(raw({ credit_account_id: tronMerchant.id }), 'asset-mismatch')
  })

  it('refuses amounts of 0, below 0 and above 2^256-1, in TypeScript and in the database', async () => {
    for (const amount of [0n, -1n, uint256Max + 1n]) {
      await expectCode(
        createTransfer(database.pool, single(funding, merchant, amount)),
        'transfer-amount-invalid',
      )
    }
    for (const amount of ['0', '-1', (uint256Max + 1n).toString(), '1.5', '9'.repeat(79)]) {
      await expectCode(raw({ amount }), 'transfer-amount-invalid')
    }
    await expect(
      raw({ amount: uint256Max.toString(), debit_account_id: fees.id, credit_account_id: funding.id }),
    ).resolves.toBeDefined()
  })

  it('refuses unknown accounts and a transfer from an account to itself', async () => {
    await expectCode(
      createTransfer(database.pool, { ...single(funding, merchant, 1n), creditAccountId: newId('acc') }),
      'account-not-found',
    )
    await expectCode(createTransfer(database.pool, single(merchant, merchant, 1n)), 'same-account')
    await expectCode(raw({ credit_account_id: funding.id }), 'same-account')
  })

  it('refuses an overdraft of a limited account, to the unit', async () => {
    const { available } = await getAccountBalance(database.pool, merchant.id)
    await expectCode(
      createTransfer(database.pool, single(merchant, fees, available + 1n)),
      'insufficient-funds',
    )
    await createTransfer(database.pool, single(merchant, fees, available))
    expect((await getAccountBalance(database.pool, merchant.id)).available).toBe(0n)
    await createTransfer(database.pool, single(funding, merchant, 500n))
  })

  it('refuses the same id with a different body, and replays the same body', async () => {
    const first = single(funding, merchant, 5n)
    const original = await createTransfer(database.pool, first)
    const replay = await createTransfer(database.pool, first)
    expect(replay).toEqual({ transfer: original.transfer, replayed: true })
    await expectCode(createTransfer(database.pool, { ...first, amount: 6n }), 'idempotency-key-reused')
    await expectCode(
      createTransfer(database.pool, { ...first, metadata: { note: 'x' } }),
      'idempotency-key-reused',
    )
  })

  it('applies a linked batch whole or not at all', async () => {
    const before = await getAccountBalance(database.pool, merchant.id)
    const ok = single(funding, merchant, 7n)
    const overdraft = single(merchant, fees, before.available + 1_000n)
    await expectCode(createTransfers(database.pool, [ok, overdraft]), 'insufficient-funds')
    expect(await getAccountBalance(database.pool, merchant.id)).toEqual(before)
    await expectCode(
      createTransfers(database.pool, [ok, single(funding, merchant, 1n, ok.id)]),
      'transfer-invalid',
    )
    await createTransfers(database.pool, [ok])
    await expectCode(
      createTransfers(database.pool, [ok, single(funding, merchant, 1n)]),
      'idempotency-key-reused',
    )
  })
})

describe('limits on both sides, in TypeScript and in the database', () => {
  const keys = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, index) => [`k${index}`, 'v']))
  const bytes = (count: number) => ({ k: 'v'.repeat(count - 1) })

  it('takes metadata up to its limits, and refuses one more key or byte', async () => {
    for (const metadata of [keys(ledgerLimits.metadataKeysMax), bytes(ledgerLimits.metadataBytesMax)]) {
      await createTransfer(database.pool, { ...single(funding, merchant, 1n), metadata })
      await expect(raw({ metadata })).resolves.toBeDefined()
    }
    for (const metadata of [
      keys(ledgerLimits.metadataKeysMax + 1),
      bytes(ledgerLimits.metadataBytesMax + 1),
    ]) {
      await expectCode(
        createTransfer(database.pool, { ...single(funding, merchant, 1n), metadata }),
        'metadata-too-large',
      )
      await expectCode(raw({ metadata }), 'metadata-too-large')
    }
    await expectCode(raw({ metadata: { k: 1 } as unknown as Record<string, string> }), 'transfer-invalid')
  })

  it('takes linked batches up to linkedTransfersMax transfers', async () => {
    const batch = (count: number) => Array.from({ length: count }, () => single(funding, merchant, 1n))
    expect(await createTransfers(database.pool, batch(ledgerLimits.linkedTransfersMax))).toHaveLength(
      ledgerLimits.linkedTransfersMax,
    )
    await expectCode(
      createTransfers(database.pool, batch(ledgerLimits.linkedTransfersMax + 1)),
      'linked-batch-too-large',
    )
    const rawBatch = batch(ledgerLimits.linkedTransfersMax + 1).map((request) => ({
      id: request.id,
      kind: 'single' as const,
      debit_account_id: funding.id,
      credit_account_id: merchant.id,
      asset_id: asset,
      amount: '1',
      pending_id: null,
      timeout_ms: null,
      code: 'test',
      metadata: {},
      request_hash: '0'.repeat(64),
    }))
    await expect(
      callPostTransfers(database.pool, rawBatch).catch((error: unknown) =>
        Promise.reject(fromDatabaseError(error)),
      ),
    ).rejects.toMatchObject({ code: 'linked-batch-too-large' })
  })

  it('takes pending timeouts up to pendingTimeoutMsMax', async () => {
    const base = { kind: 'pending' as const, debit_account_id: funding.id }
    await expect(raw({ ...base, timeout_ms: ledgerLimits.pendingTimeoutMsMax })).resolves.toBeDefined()
    await expectCode(
      raw({ ...base, timeout_ms: ledgerLimits.pendingTimeoutMsMax + 1 }),
      'pending-timeout-invalid',
    )
    await expectCode(raw({ ...base, timeout_ms: 0 }), 'pending-timeout-invalid')
    await expectCode(raw({ ...base, timeout_ms: null }), 'transfer-invalid')
  })

  it('takes ids up to 108 characters in the database (100 for clients, plus expire:)', async () => {
    await expect(raw({ id: 'a'.repeat(108) })).resolves.toBeDefined()
    await expectCode(raw({ id: 'a'.repeat(109) }), 'transfer-invalid')
    await expectCode(raw({ id: 'expire:x' }), 'transfer-invalid')
  })
})

describe('the database holds the invariants without the TypeScript', () => {
  const sql = (text: string, values: unknown[] = []) =>
    database.pool.query(text, values).catch((error: unknown) => Promise.reject(fromDatabaseError(error)))

  it('refuses UPDATE, DELETE and TRUNCATE of transfers', async () => {
    await expect(sql('update ledger_transfers set amount = amount + 1')).rejects.toMatchObject({
      code: '23001',
    })
    await expect(sql('delete from ledger_transfers')).rejects.toMatchObject({ code: '23001' })
    await expect(sql('truncate ledger_transfers')).rejects.toMatchObject({ code: '23001' })
  })

  it('refuses balance writes outside a transfer (an unbalanced write)', async () => {
    // A hot delta and an open pending row to aim at: row triggers fire only on rows that exist.
    await createTransfer(database.pool, single(funding, fees, 1n))
    await createTransfer(database.pool, pending(1n))
    await expect(
      sql('update ledger_accounts set credits_posted = credits_posted + 1 where id = $1', [merchant.id]),
    ).rejects.toMatchObject({
      code: '23001',
    })
    await expect(sql('delete from ledger_accounts where id = $1', [merchant.id])).rejects.toMatchObject({
      code: '23001',
    })
    await expect(
      sql(
        `insert into ledger_hot_deltas (account_id, debits_pending, debits_posted, credits_pending, credits_posted)
           values ($1, 0, 0, 0, 1)`,
        [fees.id],
      ),
    ).rejects.toMatchObject({ code: '23001' })
    await expect(sql('update ledger_hot_deltas set credits_posted = 1')).rejects.toMatchObject({
      code: '23001',
    })
    await expect(sql('truncate ledger_hot_deltas')).rejects.toMatchObject({ code: '23001' })
    await expect(
      sql(
        `insert into ledger_accounts (id, asset_id, owner_type, owner_id, purpose, normal_side, credits_posted)
           values ($1, $2, 'merchant', 'mer_raw', 'available', 'credit', 100)`,
        [newId('acc'), asset],
      ),
    ).rejects.toMatchObject({ code: 'account-invalid' })
    await expect(sql('delete from ledger_pending_open')).rejects.toMatchObject({ code: '23001' })
  })

  it('refuses an overdraft and a mixed-asset transfer inserted with raw SQL', async () => {
    const { available } = await getAccountBalance(database.pool, merchant.id)
    const insert = `insert into ledger_transfers (id, kind, debit_account_id, credit_account_id, asset_id, amount, code, request_hash)
                    values ($1, 'single', $2, $3, $4, $5, 'raw', sha256('raw'))`
    await expect(
      sql(insert, [newId('trf'), merchant.id, fees.id, asset, (available + 1n).toString()]),
    ).rejects.toMatchObject({
      code: 'insufficient-funds',
    })
    await expect(sql(insert, [newId('trf'), funding.id, tronMerchant.id, asset, '1'])).rejects.toMatchObject({
      code: 'asset-mismatch',
    })
    await expect(sql(insert, [newId('trf'), funding.id, merchant.id, asset, '0'])).rejects.toMatchObject({
      code: 'transfer-amount-invalid',
    })
    // What raw SQL may do is a proper transfer: it is applied, balanced, like any other.
    await sql(insert, [newId('trf'), funding.id, merchant.id, asset, '1'])
    expect((await getAccountBalance(database.pool, merchant.id)).available).toBe(available + 1n)
  })

  it('backs the overdraft rule with a CHECK even where the triggers do not run', async () => {
    const client = await database.pool.connect()
    try {
      await client.query('begin')
      // A superuser can switch triggers off; the CHECK constraint still refuses the row.
      await client.query("set local session_replication_role = 'replica'")
      const update = client.query(
        'update ledger_accounts set debits_posted = credits_posted + 1 where id = $1',
        [merchant.id],
      )
      await expect(
        update.catch((error: unknown) => Promise.reject(fromDatabaseError(error))),
      ).rejects.toMatchObject({
        code: 'insufficient-funds',
      })
    } finally {
      await client.query('rollback')
      client.release()
    }
  })
})
