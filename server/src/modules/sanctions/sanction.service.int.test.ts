import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { runSanctionsCommand } from '../../main/commands/sanctions.ts'
import { defaultSanctionsDirectory } from './sanction.files.ts'
import { sanctionLimits } from './sanction.limits.ts'
import {
  importSanctionLists,
  listActiveSanctionLists,
  screenAddress,
  screenAddresses,
} from './sanction.service.ts'
import type { ImportBatchReport, ListImportReport } from './sanction.types.ts'

const snapshot2024 = defaultSanctionsDirectory
const newerEthFile = join(defaultSanctionsDirectory, 'ofac-17121db', 'sanctioned_addresses_ETH.txt')

function readLines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
}

function listReport(report: ImportBatchReport, source: string): ListImportReport {
  const found = report.lists.find((list) => list.file.source === source)
  if (found === undefined) throw new Error(`no report for ${source}`)
  return found
}

const randomEvm = () => `0x${randomBytes(20).toString('hex')}`

/** Counts queries, to prove a batch screening is one round trip. */
function countingQueryable(pool: Pool): { db: Queryable; count: () => number } {
  let count = 0
  const query = (...args: unknown[]) => {
    count += 1
    return (pool.query as (...rest: unknown[]) => unknown)(...args)
  }
  return { db: { query } as unknown as Queryable, count: () => count }
}

let database: TestDatabase
let pool: Pool
let scratch: string
let firstImport: ImportBatchReport

beforeAll(async () => {
  database = await createTestDatabase()
  pool = database.pool
  scratch = mkdtempSync(join(tmpdir(), 'sluice-sanctions-'))
})

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true })
  await database.drop()
})

describe('sanctions import and screening (real OFAC lists, 2024 snapshot)', () => {
  it('refuses to screen before any list is imported (fail closed)', async () => {
    await expect(screenAddress(pool, randomEvm())).rejects.toMatchObject({ code: 'sanctions-lists-missing' })
  })

  it('imports every ticker list once, classifying entries by format', async () => {
    firstImport = await importSanctionLists(pool, [snapshot2024])
    expect(firstImport.lists).toHaveLength(17)
    expect(firstImport.lists.every((list) => list.outcome.status === 'imported')).toBe(true)
    expect(firstImport.skipped).toHaveLength(17) // the .json twin of every .txt
    expect(listReport(firstImport, 'sanctioned_addresses_USDT').counts).toEqual({
      evm: 8,
      tron: 11,
      bitcoin: 7,
      other: 0,
    })
    expect(listReport(firstImport, 'sanctioned_addresses_XBT').counts).toMatchObject({
      tron: 1,
      bitcoin: 434,
    })
    expect(listReport(firstImport, 'sanctioned_addresses_ETH')).toMatchObject({
      entryCount: 152,
      invalidCount: 0,
    })
  })

  it('finds a listed ETH address in any letter case', async () => {
    const listed = readLines(join(snapshot2024, 'sanctioned_addresses_ETH.txt')).find((line) =>
      /[A-F]/.test(line),
    )
    expect(listed).toBeDefined()
    const hex = (listed ?? '').slice(2)
    for (const variant of [listed ?? '', `0x${hex.toLowerCase()}`, `0x${hex.toUpperCase()}`]) {
      const result = await screenAddress(pool, variant)
      expect(result).toMatchObject({ hit: true, format: 'evm', address: `0x${hex.toLowerCase()}` })
      expect(result.matches).toContainEqual(
        expect.objectContaining({ source: 'sanctioned_addresses_ETH', ticker: 'ETH' }),
      )
    }
  })

  it('finds a USDT-labelled EVM address (screens on every EVM network)', async () => {
    const eth = new Set(
      readLines(join(snapshot2024, 'sanctioned_addresses_ETH.txt')).map((line) => line.toLowerCase()),
    )
    const usdtOnly = readLines(join(snapshot2024, 'sanctioned_addresses_USDT.txt')).find(
      (line) => line.startsWith('0x') && !eth.has(line.toLowerCase()),
    )
    const result = await screenAddress(pool, usdtOnly ?? '')
    expect(result.hit).toBe(true)
    expect(result.matches.map((match) => match.ticker)).toEqual(['USDT'])
  })

  it('finds Tron addresses, including the one the SDN labels XBT', async () => {
    const [trx] = readLines(join(snapshot2024, 'sanctioned_addresses_TRX.txt'))
    expect(await screenAddress(pool, trx ?? '')).toMatchObject({ hit: true, format: 'tron' })
    const mislabelled = readLines(join(snapshot2024, 'sanctioned_addresses_XBT.txt')).find((line) =>
      line.startsWith('T'),
    )
    const result = await screenAddress(pool, mislabelled ?? '')
    expect(result).toMatchObject({ hit: true, format: 'tron' })
    expect(result.matches).toEqual([
      expect.objectContaining({ source: 'sanctioned_addresses_XBT', ticker: 'XBT' }),
    ])
  })

  it('does not flag a random address, and cites the list versions it screened against', async () => {
    const result = await screenAddress(pool, randomEvm())
    expect(result).toMatchObject({ hit: false, matches: [] })
    expect(result.screenedAgainst).toHaveLength(17)
  })

  it('treats a re-import of identical content as a no-op', async () => {
    const before = await pool.query<{ count: number }>(
      'select count(*)::int as count from sanction_list_versions',
    )
    const again = await importSanctionLists(pool, [snapshot2024])
    expect(again.lists.map((list) => list.outcome.status)).toEqual(new Array(17).fill('unchanged'))
    const after = await pool.query<{ count: number }>(
      'select count(*)::int as count from sanction_list_versions',
    )
    expect(after.rows[0]?.count).toBe(before.rows[0]?.count)
    expect(again.batchId).toBeGreaterThan(firstImport.batchId)
  })
})

describe('a newer list version replaces the old one (Tornado Cash delisting, March 2025)', () => {
  it('stops flagging a delisted address and keeps flagging one still listed', async () => {
    const old = readLines(join(snapshot2024, 'sanctioned_addresses_ETH.txt')).map((line) =>
      line.toLowerCase(),
    )
    const newer = new Set(readLines(newerEthFile).map((line) => line.toLowerCase()))
    const delisted = old.find((address) => !newer.has(address)) ?? ''
    const kept = old.find((address) => newer.has(address)) ?? ''
    const usdtOnly = '0x175d44451403edf28469df03a9280c1197adb92c'
    expect(await screenAddress(pool, delisted)).toMatchObject({ hit: true })

    const report = await importSanctionLists(pool, [newerEthFile])
    const eth = listReport(report, 'sanctioned_addresses_ETH')
    const previous = listReport(firstImport, 'sanctioned_addresses_ETH').outcome
    expect(eth.outcome).toMatchObject({ status: 'imported', added: 34, removed: 90 })
    expect(eth.outcome.status === 'imported' && previous.status === 'imported').toBe(true)
    if (eth.outcome.status !== 'imported' || previous.status !== 'imported') return
    expect(eth.outcome.previousVersion).toBe(previous.listVersion)

    const [gone, still, otherSource] = await screenAddresses(pool, [delisted, kept, usdtOnly])
    expect(gone?.hit).toBe(false)
    expect(still?.matches).toContainEqual({
      source: 'sanctioned_addresses_ETH',
      ticker: 'ETH',
      listVersion: eth.outcome.listVersion,
    })
    expect(otherSource?.hit).toBe(true) // other sources keep their versions
  })

  it('keeps the old version and its entries as evidence (append-only)', async () => {
    const versions = await pool.query('select id from sanction_list_versions where source = $1', [
      'sanctioned_addresses_ETH',
    ])
    expect(versions.rowCount).toBe(2)
    await expect(pool.query('delete from sanction_list_entries')).rejects.toThrow(/immutable/)
  })
})

describe('list files with problems', () => {
  it('imports the good lines of a file with junk and reports the bad ones', async () => {
    const path = join(scratch, 'sanctioned_addresses_TEST.txt')
    const good = [randomEvm(), 'TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa']
    const junk = ['garbage', '0x1234', 'TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzz', 'two words', '<html>']
    writeFileSync(path, ['# test list', ...good.slice(0, 2), ...junk, '', good[2]].join('\n'))
    const report = await importSanctionLists(pool, [path])
    const test = listReport(report, 'sanctioned_addresses_TEST')
    expect(test).toMatchObject({
      entryCount: 3,
      invalidCount: 5,
      counts: { evm: 1, tron: 1, bitcoin: 1, other: 0 },
    })
    expect(test.outcome.status).toBe('imported')
    expect(test.invalidSamples.map((sample) => sample.line)).toEqual([4, 5, 6, 7, 8])
    const results = await screenAddresses(pool, good)
    expect(results.every((result) => result.hit)).toBe(true)
  })

  it('refuses an empty list instead of clearing the active version', async () => {
    const path = join(scratch, 'sanctioned_addresses_TEST.json')
    writeFileSync(path, JSON.stringify(['# nothing', 'junk']))
    const report = await importSanctionLists(pool, [path])
    expect(listReport(report, 'sanctioned_addresses_TEST').outcome).toMatchObject({
      status: 'failed',
      code: 'sanctions-list-empty',
    })
    const active = await listActiveSanctionLists(pool)
    expect(active.find((list) => list.source === 'sanctioned_addresses_TEST')?.entryCount).toBe(3)
  })

  it('fails on a path that does not exist, before importing anything', async () => {
    await expect(importSanctionLists(pool, [join(scratch, 'missing.txt')])).rejects.toMatchObject({
      code: 'sanctions-path-not-found',
    })
  })
})

describe('batch screening', () => {
  it('screens many addresses in one query, in input order', async () => {
    const listed = readLines(newerEthFile)
    const inputs = [
      ...listed,
      ...Array.from({ length: sanctionLimits.screenBatchSizeMax - listed.length }, randomEvm),
    ]
    const counting = countingQueryable(pool)
    const results = await screenAddresses(counting.db, inputs)
    expect(counting.count()).toBe(1)
    expect(results).toHaveLength(inputs.length)
    expect(results.filter((result) => result.hit)).toHaveLength(listed.length)
    expect(results[0]?.address).toBe(listed[0]?.toLowerCase())
  })

  it('rejects a batch over the limit and malformed input', async () => {
    const tooMany = Array.from({ length: sanctionLimits.screenBatchSizeMax + 1 }, randomEvm)
    await expect(screenAddresses(pool, tooMany)).rejects.toMatchObject({ code: 'screening-batch-too-large' })
    await expect(screenAddresses(pool, [randomEvm(), '  '])).rejects.toMatchObject({
      code: 'address-invalid',
    })
    expect(await screenAddresses(pool, [])).toEqual([])
  })

  it('looks addresses up through the address index', async () => {
    const plan = await withTransaction(pool, async (client) => {
      await client.query('set local enable_seqscan = off')
      const result = await client.query<{ 'QUERY PLAN': string }>(
        'explain select version_id from sanction_list_entries where address = any($1::text[])',
        [[randomEvm()]],
      )
      return result.rows.map((row) => row['QUERY PLAN']).join('\n')
    })
    expect(plan).toContain('sanction_list_entries_address_idx')
  })
})

describe('sluice sanctions command', () => {
  function capture(): { write: (text: string) => void; text: () => string } {
    const chunks: string[] = []
    return { write: (text) => chunks.push(text), text: () => chunks.join('') }
  }

  it('checks an address: exit 1 and LISTED for a hit, exit 0 otherwise', async () => {
    const output = capture()
    expect(
      await runSanctionsCommand(['check', 'TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq'], {
        pool,
        write: output.write,
      }),
    ).toBe(1)
    expect(output.text()).toContain('LISTED')
    expect(output.text()).toContain('sanctioned_addresses_XBT [XBT]')
    expect(await runSanctionsCommand(['check', randomEvm()], { pool, write: output.write })).toBe(0)
    expect(output.text()).toContain('not listed')
  })

  it('imports the shipped lists by default, the newer ETH/TRX/SOL superseding the 2024 ones', async () => {
    const output = capture()
    expect(await runSanctionsCommand(['import'], { pool, write: output.write })).toBe(0)
    const text = output.text()
    expect(text).toMatch(/sanctioned_addresses_ETH \[ETH\]: unchanged/)
    expect(text).toMatch(/sanctioned_addresses_TRX \[TRX\]: imported v\d+ \(replaces v\d+, \+\d+ −\d+\)/)
    expect(text).toMatch(/sanctioned_addresses_SOL \[SOL\]: imported v\d+ \(first version/)
    expect(text).toContain('skipped 18 .json files')
    expect(text).toMatch(
      /sanctioned_addresses_ETH.txt: superseded by .*ofac-17121db\/sanctioned_addresses_ETH.txt/,
    )
    expect(text).toMatch(/summary: 2 imported, 16 unchanged, 0 failed, 20 skipped/)
  })

  it('prints usage for unknown subcommands and one line for operating errors', async () => {
    const output = capture()
    expect(await runSanctionsCommand(['frobnicate'], { pool, write: output.write })).toBe(2)
    expect(output.text()).toContain('usage:')
    expect(await runSanctionsCommand(['import', join(scratch, 'nope')], { pool, write: output.write })).toBe(
      1,
    )
    expect(output.text()).toContain('sanctions: no file or directory at')
    expect(await runSanctionsCommand(['status'], { pool, write: output.write })).toBe(0)
    expect(output.text()).toContain('sanctioned_addresses_SOL')
  })
})
