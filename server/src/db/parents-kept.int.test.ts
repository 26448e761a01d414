import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../test/setup/database.ts'

// Migration 0029 (docs/adr/0029): the foreign keys on the hot insert paths are gone, and the parents they
// pointed at cannot go away or change their key instead. Each refusal is restrict_violation (23001).
let database: TestDatabase
const restrictViolation = { code: '23001' }
const address = `0x${'0f'.repeat(20)}`

beforeAll(async () => {
  database = await createTestDatabase({ poolSizeMax: 2 })
  await database.pool.query(`
    insert into merchants (id, name) values ('mer_kept', 'Kept'), ('mer_other', 'Other');
    insert into deposit_addresses (address, merchant_id, owner_kind, owner_id, hd_account, hd_index)
      values ('${address}', 'mer_kept', 'invoice', 'inv_kept', 0, 0);
    insert into invoices (id, merchant_id, status, exception, currency, amount, due_value,
        tolerance_basis_points, expires_at, monitoring_until)
      values ('inv_kept', 'mer_kept', 'new', 'none', 'USDT', '1', 1, 0, now(), now())`)
})

afterAll(async () => {
  await database?.drop()
})

const sql = (text: string) => database.pool.query(text)

describe('parents of hot-path rows are kept (migration 0029)', () => {
  it('refuses to delete a store or change its id, and lets its other columns change', async () => {
    await expect(sql(`delete from merchants where id = 'mer_other'`)).rejects.toMatchObject(restrictViolation)
    await expect(sql('truncate merchants cascade')).rejects.toMatchObject(restrictViolation)
    await expect(sql(`update merchants set id = 'mer_moved' where id = 'mer_kept'`)).rejects.toMatchObject(
      restrictViolation,
    )
    await sql(`update merchants set name = 'Renamed' where id = 'mer_kept'`)
    const row = await sql(`select name from merchants where id = 'mer_kept'`)
    expect(row.rows).toEqual([{ name: 'Renamed' }])
  })

  it('refuses to change, delete or truncate a deposit address', async () => {
    await expect(
      sql(`update deposit_addresses set owner_id = 'inv_other' where address = '${address}'`),
    ).rejects.toMatchObject(restrictViolation)
    await expect(sql(`delete from deposit_addresses where address = '${address}'`)).rejects.toMatchObject(
      restrictViolation,
    )
    await expect(sql('truncate deposit_addresses cascade')).rejects.toMatchObject(restrictViolation)
    const row = await sql(`select owner_id from deposit_addresses where address = '${address}'`)
    expect(row.rows).toEqual([{ owner_id: 'inv_kept' }])
  })

  it('refuses to delete an invoice or move it to another id or store, and lets its state change', async () => {
    await expect(sql(`delete from invoices where id = 'inv_kept'`)).rejects.toMatchObject(restrictViolation)
    await expect(sql('truncate invoices cascade')).rejects.toMatchObject(restrictViolation)
    await expect(sql(`update invoices set id = 'inv_moved' where id = 'inv_kept'`)).rejects.toMatchObject(
      restrictViolation,
    )
    await expect(
      sql(`update invoices set merchant_id = 'mer_other' where id = 'inv_kept'`),
    ).rejects.toMatchObject(restrictViolation)
    await sql(`update invoices set status = 'expired' where id = 'inv_kept'`)
    const row = await sql(`select status, merchant_id from invoices where id = 'inv_kept'`)
    expect(row.rows).toEqual([{ status: 'expired', merchant_id: 'mer_kept' }])
  })

  it('leaves no foreign key on the rows every invoice and deposit writes', async () => {
    // Put one back and the per-row check and parent lock return (ADR 0029 measured them): this test says
    // where to read why before doing so.
    const keys = await sql(`select conrelid::regclass::text as child, confrelid::regclass::text as parent
      from pg_constraint where contype = 'f' and conrelid::regclass::text in
        ('payments', 'invoices', 'invoice_payment_options', 'idempotency_keys', 'deposit_addresses')`)
    expect(keys.rows).toEqual([])
  })
})
