import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { withTransaction } from '../../db/tx.ts'
import { newId } from '../../lib/ids.ts'
import { runLedgerVerify } from '../../main/commands/ledger-verify.ts'
import {
  createTransfer,
  createTransfers,
  expirePendingTransfers,
  foldHotAccountDeltas,
  getAccountBalance,
  getAccountStatement,
  getBalanceAsOf,
  getOrCreateAccount,
  getOrCreateAccounts,
  getOrCreateSystemAccount,
  listOwnerBalances,
} from './ledger.service.ts'
import { type Account, systemAccountKinds } from './ledger.types.ts'

let database: TestDatabase
const asset = 'USDC@base'

beforeAll(async () => {
  database = await createTestDatabase({ poolSizeMax: 12 })
})

afterAll(async () => {
  await database.drop()
})

async function merchantAccount(ownerId = `mer_${newId('mer').slice(4)}`): Promise<Account> {
  return await getOrCreateAccount(database.pool, {
    ownerType: 'merchant',
    ownerId,
    purpose: 'available',
    assetId: asset,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })
}

function single(debit: Account, credit: Account, amount: bigint) {
  return {
    kind: 'single',
    id: newId('trf'),
    debitAccountId: debit.id,
    creditAccountId: credit.id,
    assetId: asset,
    amount,
    code: 'test',
  } as const
}

describe('accounts', () => {
  it('creates an account once, even when many callers race', async () => {
    const input = {
      ownerType: 'merchant',
      ownerId: 'mer_race',
      purpose: 'available',
      assetId: asset,
      normalSide: 'credit',
    } as const
    const accounts = await Promise.all(
      Array.from({ length: 10 }, () => getOrCreateAccount(database.pool, input)),
    )
    expect(new Set(accounts.map((account) => account.id)).size).toBe(1)
    await expect(getOrCreateAccount(database.pool, { ...input, normalSide: 'debit' })).rejects.toMatchObject({
      code: 'account-attributes-conflict',
    })
  })

  it('gets or creates many accounts in one call, in order, once each, even when callers race', async () => {
    const input = (ownerId: string) =>
      ({
        ownerType: 'customer',
        ownerId,
        purpose: 'available',
        assetId: asset,
        normalSide: 'credit',
        flags: { debitsMustNotExceedCredits: true },
      }) as const
    const existing = await getOrCreateAccount(database.pool, input('cus_bulk_0'))
    const owners = ['cus_bulk_0', 'cus_bulk_1', 'cus_bulk_2', 'cus_bulk_1', 'cus_bulk_3']
    const [first, second] = await Promise.all([
      getOrCreateAccounts(database.pool, owners.map(input)),
      getOrCreateAccounts(database.pool, [...owners].reverse().map(input)),
    ])
    expect(first?.map((account) => account.ownerId)).toEqual(owners)
    expect(first?.[0]?.id).toBe(existing.id)
    expect(first?.[1]?.id).toBe(first?.[3]?.id)
    expect(new Set(first?.map((account) => account.id)).size).toBe(4)
    expect([...(second ?? [])].reverse().map((account) => account.id)).toEqual(first?.map((a) => a.id))
    await expect(
      getOrCreateAccounts(database.pool, [
        input('cus_bulk_4'),
        { ...input('cus_bulk_2'), normalSide: 'debit' },
      ]),
    ).rejects.toMatchObject({ code: 'account-attributes-conflict' })
    expect(await getOrCreateAccounts(database.pool, [])).toEqual([])
  })

  it('creates each system account per asset on demand, concurrently', async () => {
    const kinds = [...systemAccountKinds, ...systemAccountKinds]
    const accounts = await Promise.all(
      kinds.map((kind) => getOrCreateSystemAccount(database.pool, kind, 'USDT@tron')),
    )
    expect(new Set(accounts.map((account) => account.id)).size).toBe(systemAccountKinds.length)
    const hotWallet = accounts.find((account) => account.purpose === 'hot-wallet')
    expect(hotWallet).toMatchObject({
      ownerType: 'system',
      hot: true,
      assetId: 'USDT@tron',
      normalSide: 'debit',
    })
    const other = await getOrCreateSystemAccount(database.pool, 'hot-wallet', 'USDT@ethereum')
    expect(other.id).not.toBe(hotWallet?.id)
  })
})

describe('postings', () => {
  it('commits with the caller’s transaction, or not at all (outbox)', async () => {
    const merchant = await merchantAccount()
    const clearing = await getOrCreateSystemAccount(database.pool, 'deposit-clearing', asset)
    const request = single(clearing, merchant, 100n)
    await expect(
      withTransaction(database.pool, async (client) => {
        await createTransfer(client, request)
        await client.query(`insert into events (id, type, payload) values ($1, 'deposit.credited', '{}')`, [
          newId('evt'),
        ])
        throw new Error('the caller fails after posting')
      }),
    ).rejects.toThrow('the caller fails')
    expect((await getAccountBalance(database.pool, merchant.id)).posted).toBe(0n)
    await withTransaction(database.pool, async (client) => {
      await createTransfer(client, request)
    })
    expect((await getAccountBalance(database.pool, merchant.id)).posted).toBe(100n)
  })

  it('reserves, partially posts and releases the rest', async () => {
    const merchant = await merchantAccount()
    const payouts = await getOrCreateSystemAccount(database.pool, 'payout-clearing', asset)
    const funding = await getOrCreateSystemAccount(database.pool, 'suspense', asset)
    await createTransfer(database.pool, single(funding, merchant, 1_000n))
    const reservation = { ...single(merchant, payouts, 600n), kind: 'pending', timeoutMs: 60_000 } as const
    await createTransfer(database.pool, reservation)
    expect(await getAccountBalance(database.pool, merchant.id)).toMatchObject({
      posted: 1_000n,
      available: 400n,
    })
    const { transfer } = await createTransfer(database.pool, {
      kind: 'post',
      id: newId('trf'),
      pendingId: reservation.id,
      amount: 550n,
    })
    expect(transfer).toMatchObject({ kind: 'post', amount: 550n, debitAccountId: merchant.id, code: 'test' })
    const after = await getAccountBalance(database.pool, merchant.id)
    expect(after.balances).toEqual({
      debitsPending: 0n,
      debitsPosted: 550n,
      creditsPending: 0n,
      creditsPosted: 1_000n,
    })
    expect(after.available).toBe(450n)
  })

  it('lets exactly one of a concurrent post and void win', async () => {
    const merchant = await merchantAccount()
    const funding = await getOrCreateSystemAccount(database.pool, 'suspense', asset)
    const fees = await getOrCreateSystemAccount(database.pool, 'fee-revenue', asset)
    await createTransfer(database.pool, single(funding, merchant, 10n))
    const reservation = { ...single(merchant, fees, 10n), kind: 'pending', timeoutMs: 60_000 } as const
    await createTransfer(database.pool, reservation)
    const outcomes = await Promise.allSettled([
      createTransfer(database.pool, { kind: 'post', id: newId('trf'), pendingId: reservation.id }),
      createTransfer(database.pool, { kind: 'void', id: newId('trf'), pendingId: reservation.id }),
      expirePendingTransfers(database.pool, new Date()),
    ])
    expect(outcomes.slice(0, 2).filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1)
    expect((await getAccountBalance(database.pool, merchant.id)).balances.debitsPending).toBe(0n)
  })

  it('expires reservations in bounded batches', async () => {
    const merchant = await merchantAccount()
    const funding = await getOrCreateSystemAccount(database.pool, 'suspense', asset)
    const payouts = await getOrCreateSystemAccount(database.pool, 'payout-clearing', asset)
    await createTransfer(database.pool, single(funding, merchant, 100n))
    const reservations = Array.from(
      { length: 5 },
      () => ({ ...single(merchant, payouts, 10n), kind: 'pending', timeoutMs: 1 }) as const,
    )
    await createTransfers(database.pool, reservations)
    expect((await getAccountBalance(database.pool, merchant.id)).available).toBe(50n)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await expirePendingTransfers(database.pool, new Date(), 2)).toBeGreaterThanOrEqual(5)
    expect((await getAccountBalance(database.pool, merchant.id)).available).toBe(100n)
  })
})

describe('hot accounts', () => {
  it('defers balance changes, counts them in reads, and folds them without changing the balance', async () => {
    const merchant = await merchantAccount()
    const fees = await getOrCreateSystemAccount(database.pool, 'fee-revenue', 'USDC@hot')
    const funding = await getOrCreateSystemAccount(database.pool, 'suspense', 'USDC@hot')
    const hotMerchant = await getOrCreateAccount(database.pool, {
      ownerType: 'merchant',
      ownerId: merchant.ownerId,
      purpose: 'available',
      assetId: 'USDC@hot',
      normalSide: 'credit',
      flags: { debitsMustNotExceedCredits: true },
    })
    const base = { assetId: 'USDC@hot', code: 'fee', kind: 'single' } as const
    await createTransfer(database.pool, {
      ...base,
      id: newId('trf'),
      debitAccountId: funding.id,
      creditAccountId: hotMerchant.id,
      amount: 100n,
    })
    for (let index = 0; index < 5; index += 1) {
      await createTransfer(database.pool, {
        ...base,
        id: newId('trf'),
        debitAccountId: hotMerchant.id,
        creditAccountId: fees.id,
        amount: 3n,
      })
    }
    const deferred = await database.pool.query(
      'select count(*)::int as count from ledger_hot_deltas where account_id = $1',
      [fees.id],
    )
    expect(deferred.rows[0]).toEqual({ count: 5 })
    const before = await getAccountBalance(database.pool, fees.id)
    expect(before.posted).toBe(15n)
    expect(await foldHotAccountDeltas(database.pool)).toBeGreaterThanOrEqual(5)
    expect(await getAccountBalance(database.pool, fees.id)).toEqual(before)
    const row = await database.pool.query('select credits_posted from ledger_accounts where id = $1', [
      fees.id,
    ])
    expect(row.rows[0]).toEqual({ credits_posted: '15' })
  })
})

describe('reads', () => {
  it('pages a statement by seq and shows each line’s effect', async () => {
    const merchant = await merchantAccount()
    const funding = await getOrCreateSystemAccount(database.pool, 'suspense', asset)
    for (let index = 1; index <= 7; index += 1)
      await createTransfer(database.pool, single(funding, merchant, BigInt(index)))
    const seen: bigint[] = []
    let afterSeq: bigint | undefined
    for (let page = 0; page < 5; page += 1) {
      const result = await getAccountStatement(
        database.pool,
        merchant.id,
        afterSeq === undefined ? { pageSize: 3 } : { pageSize: 3, afterSeq },
      )
      seen.push(...result.lines.map((line) => line.amount))
      expect(
        result.lines.every((line) => line.side === 'credit' && line.counterpartyAccountId === funding.id),
      ).toBe(true)
      if (result.nextAfterSeq === null) break
      afterSeq = result.nextAfterSeq
    }
    expect(seen).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n])
    await expect(getAccountStatement(database.pool, merchant.id, { pageSize: 501 })).rejects.toMatchObject({
      code: 'page-size-invalid',
    })
    expect((await getAccountStatement(database.pool, merchant.id, { pageSize: 500 })).lines).toHaveLength(7)
  })

  it('answers balances as of a past seq or time', async () => {
    const merchant = await merchantAccount()
    const funding = await getOrCreateSystemAccount(database.pool, 'suspense', asset)
    const first = await createTransfer(database.pool, single(funding, merchant, 10n))
    await new Promise((resolve) => setTimeout(resolve, 5))
    const between = new Date()
    await new Promise((resolve) => setTimeout(resolve, 5))
    await createTransfer(database.pool, single(funding, merchant, 20n))
    expect((await getBalanceAsOf(database.pool, merchant.id, { seq: first.transfer.seq })).posted).toBe(10n)
    expect((await getBalanceAsOf(database.pool, merchant.id, { seq: first.transfer.seq - 1n })).posted).toBe(
      0n,
    )
    expect((await getBalanceAsOf(database.pool, merchant.id, { at: between })).posted).toBe(10n)
    expect((await getBalanceAsOf(database.pool, merchant.id, { at: new Date() })).posted).toBe(30n)
  })

  it('lists an owner’s balances per asset', async () => {
    const merchant = await merchantAccount('mer_owner_list')
    await getOrCreateAccount(database.pool, {
      ownerType: 'merchant',
      ownerId: 'mer_owner_list',
      purpose: 'available',
      assetId: 'USDT@tron',
      normalSide: 'credit',
    })
    const balances = await listOwnerBalances(database.pool, 'merchant', 'mer_owner_list')
    expect(balances.map((balance) => balance.account.assetId)).toEqual([asset, 'USDT@tron'])
    expect(balances[0]?.account.id).toBe(merchant.id)
  })
})

describe('verify', () => {
  it('reports zero drift on a consistent ledger, and the account that drifted otherwise', async () => {
    const lines: string[] = []
    expect(await runLedgerVerify(database.pool, (line) => lines.push(line))).toBe(0)
    const merchant = await merchantAccount()
    const client = await database.pool.connect()
    try {
      // Only with triggers switched off (superuser) can a balance drift; put it back afterwards.
      await client.query("set session_replication_role = 'replica'")
      await client.query('update ledger_accounts set credits_posted = credits_posted + 7 where id = $1', [
        merchant.id,
      ])
      const report: string[] = []
      expect(await runLedgerVerify(database.pool, (line) => report.push(line))).toBe(1)
      expect(report.join('\n')).toContain(`drift: account ${merchant.id}`)
      expect(report.join('\n')).toContain('imbalance: asset USDC@base')
      await client.query('update ledger_accounts set credits_posted = credits_posted - 7 where id = $1', [
        merchant.id,
      ])
    } finally {
      await client.query("set session_replication_role = 'origin'")
      client.release()
    }
    expect(await runLedgerVerify(database.pool, () => {})).toBe(0)
  })
})
