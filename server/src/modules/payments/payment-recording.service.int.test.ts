import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import { importTestSanctionsList } from '../../../test/setup/sanctions.ts'
import { withTransaction } from '../../db/tx.ts'
import type { TokenTransferLog } from '../chains/chain.types.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import {
  loadAddressPrefixesAfter,
  paymentEventPayload,
  progressPayments,
  recordObservedTransfers,
} from './payment-recording.service.ts'

// The watcher's recording path on real PostgreSQL: the bulk insert confirms recipients and takes their
// owners itself (no owner query of its own), and the packed address load reads every address.

const tokenAddress: `0x${string}` = `0x${'22'.repeat(20)}`
const network = offlineNetwork({ name: 'chain-r', tokenAddress })
const hex = (bytes: number) => `0x${randomBytes(bytes).toString('hex')}`

let database: TestDatabase
let merchantId: string

beforeAll(async () => {
  database = await createTestDatabase()
  await importTestSanctionsList(database.pool)
  merchantId = (await createMerchant(database.pool, { name: 'Recording Store' })).merchant.id
})

afterAll(async () => {
  await database.drop()
})

/** Inserts watched addresses with fresh HD indexes; returns their owner ids' prefix (owners are prefix + 1…n). */
async function insertAddresses(
  addresses: readonly string[],
  ownerPrefix: string,
  ownerKind: 'customer' | 'invoice' = 'customer',
): Promise<string> {
  const owners = `${ownerPrefix}${randomBytes(3).toString('hex')}_`
  await database.pool.query(
    `insert into deposit_addresses (address, merchant_id, owner_kind, owner_id, hd_account, hd_index)
     select a, $1, $4, $3 || i, 0,
       (select coalesce(max(hd_index), 0) from deposit_addresses where merchant_id = $1) + i
     from unnest($2::text[]) with ordinality as t(a, i)`,
    [merchantId, addresses, owners, ownerKind],
  )
  return owners
}

function transferTo(to: string, logIndex: number): TokenTransferLog {
  return {
    txHash: hex(32),
    logIndex,
    blockNumber: 500n,
    blockHash: hex(32),
    tokenAddress,
    from: hex(20),
    to,
    amount: 5_000_000n + BigInt(logIndex),
  }
}

describe('recordObservedTransfers', () => {
  it('stores transfers to deposit addresses with their owners, and drops candidates that are not ours', async () => {
    const ours = [hex(20), hex(20)]
    const owners = await insertAddresses(ours, 'cus_rec_')
    const notOurs = hex(20) // what an 8-byte prefix collision in the address set would hand over
    const transfers = [
      transferTo(ours[0] as string, 0),
      transferTo(notOurs, 1),
      transferTo(ours[1] as string, 2),
    ]
    const recorded = await withTransaction(database.pool, (client) =>
      recordObservedTransfers(client, network, transfers),
    )
    expect(recorded.map((payment) => [payment.toAddress, payment.ownerId, payment.status]).sort()).toEqual(
      [
        [ours[0], `${owners}1`, 'detected'],
        [ours[1], `${owners}2`, 'detected'],
      ].sort(),
    )
    expect(recorded.every((payment) => payment.merchantId === merchantId)).toBe(true)
    const stored = await database.pool.query<{ to_address: string; owner_id: string }>(
      'select to_address, owner_id from payments where to_address = any($1) order by log_index',
      [[...ours, notOurs]],
    )
    expect(stored.rows).toEqual([
      { to_address: ours[0], owner_id: `${owners}1` },
      { to_address: ours[1], owner_id: `${owners}2` },
    ])
    // One payment.initiated event per stored payment, none for the candidate that was not ours.
    const events = await database.pool.query<{ subject_id: string }>(
      "select subject_id from events where type = 'payment.initiated' and payload->>'to' = any($1)",
      [[...ours, notOurs]],
    )
    expect(events.rows.map((row) => row.subject_id).sort()).toEqual(recorded.map((p) => p.id).sort())

    // Built in SQL by the insert's statement: the same payload as paymentEventPayload, with a dispatch job.
    const written = await database.pool.query<{ id: string; subject_id: string; payload: unknown }>(
      "select id, subject_id, payload from events where type = 'payment.initiated' and subject_id = any($1)",
      [recorded.map((p) => p.id)],
    )
    for (const event of written.rows) {
      const payment = recorded.find((p) => p.id === event.subject_id) as (typeof recorded)[number]
      expect(event.payload).toEqual(paymentEventPayload(payment, network))
    }
    // One dispatch job carries both events (docs/adr/0010, "Events recorded many at once").
    const jobs = await database.pool.query<{ event_ids: string[] }>(
      "select payload->'eventIds' as event_ids from jobs where kind = 'dispatch-event' and payload->'eventIds' ?| $1",
      [written.rows.map((row) => row.id)],
    )
    expect(jobs.rows.map((row) => [...row.event_ids].sort())).toEqual([
      written.rows.map((row) => row.id).sort(),
    ])

    // Seen again (a rescan): nothing new, no event.
    const again = await withTransaction(database.pool, (client) =>
      recordObservedTransfers(client, network, transfers),
    )
    expect(again).toEqual([])
  })

  it('asks for one re-evaluation per payment to an invoice, none for a customer, none for a payment seen again', async () => {
    const toInvoices = [hex(20), hex(20), hex(20)]
    const invoices = await insertAddresses(toInvoices, 'inv_rec_', 'invoice')
    const toCustomer = hex(20)
    await insertAddresses([toCustomer], 'cus_rec_')
    const transfers = [...toInvoices, toCustomer].map((to, index) => transferTo(to, index))
    const recorded = await withTransaction(database.pool, (client) =>
      recordObservedTransfers(client, network, transfers),
    )
    const jobsOf = async () =>
      (
        await database.pool.query<{ invoice_id: string; dedupe_key: string }>(
          `select payload->>'invoice_id' as invoice_id, dedupe_key from jobs
           where kind = 'evaluate-invoice' and payload->>'invoice_id' like $1 order by 1`,
          [`${invoices}%`],
        )
      ).rows
    const paymentTo = (address: string) => recorded.find((p) => p.toAddress === address)?.id
    expect(await jobsOf()).toEqual(
      toInvoices.map((address, index) => ({
        invoice_id: `${invoices}${index + 1}`,
        dedupe_key: `evaluate-invoice:${paymentTo(address)}:payment.initiated`,
      })),
    )
    await withTransaction(database.pool, (client) => recordObservedTransfers(client, network, transfers))
    expect(await jobsOf()).toHaveLength(3)
  })
})

describe('progressPayments', () => {
  it('moves the open payments no other transaction holds, without waiting for the ones it holds', async () => {
    const addresses = [hex(20), hex(20)]
    await insertAddresses(addresses, 'cus_held_')
    const local = offlineNetwork({ name: 'chain-held', tokenAddress })
    const transfers = addresses.map((to, index) => transferTo(to, index))
    const recorded = await withTransaction(database.pool, (client) =>
      recordObservedTransfers(client, local, transfers),
    )
    const held = recorded.find((payment) => payment.toAddress === addresses[0])
    const free = recorded.find((payment) => payment.toAddress === addresses[1])
    // A range's write that sees `held` again (a rescan) locks its row until it commits, though it changes
    // nothing (ON CONFLICT DO UPDATE locks the row its WHERE then rejects): crediting beside that write (the
    // watcher's recordRange) must neither wait for it nor move it.
    const rescan = await database.pool.connect()
    try {
      await rescan.query('begin')
      expect(await recordObservedTransfers(rescan, local, [transfers[0] as TokenTransferLog])).toEqual([])
      const final = { headNumber: 600n, finalizedNumber: 600n }
      const moved = await withTransaction(database.pool, async (client) => {
        await client.query("set local lock_timeout = '2s'") // waiting would fail the test, not hang it
        return await progressPayments(client, local, final, { creditingHalted: false })
      })
      expect(moved).toBe(1)
      await rescan.query('commit')
      const statuses = await database.pool.query<{ id: string; status: string }>(
        'select id, status from payments where id = any($1) order by id',
        [[held?.id, free?.id]],
      )
      expect(Object.fromEntries(statuses.rows.map((row) => [row.id, row.status]))).toEqual({
        [held?.id as string]: 'detected',
        [free?.id as string]: 'finalized',
      })
    } finally {
      rescan.release()
    }
  })
})

describe('loadAddressPrefixesAfter', () => {
  it('loads every address after the sequence, across pages, as 8-byte prefixes', async () => {
    const addresses = Array.from({ length: 250 }, () => hex(20))
    const before = await database.pool.query<{ last: string }>(
      'select coalesce(max(sequence), 0) as last from deposit_addresses',
    )
    await insertAddresses(addresses, 'cus_load_')
    const prefixes = new Set<string>()
    let countAtMost = 0n
    const highest = await loadAddressPrefixesAfter(database.pool, BigInt(before.rows[0]?.last ?? '0'), {
      pageSize: 16, // many pages, loaded two at a time
      concurrency: 2,
      onStart: (count) => {
        countAtMost = count
      },
      onPage: (page) => {
        for (let offset = 0; offset < page.length; offset += 8)
          prefixes.add(page.subarray(offset, offset + 8).toString('hex'))
      },
    })
    expect(countAtMost).toBeGreaterThanOrEqual(250n) // sequences may have gaps (rolled-back inserts)
    expect(prefixes).toEqual(new Set(addresses.map((address) => address.slice(2, 18))))
    const last = await database.pool.query<{ last: string }>(
      'select max(sequence) as last from deposit_addresses',
    )
    expect(highest).toBe(BigInt(last.rows[0]?.last ?? '0'))
  })
})
