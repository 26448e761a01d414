import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { HDKey } from '@scure/bip32'
import { createPool, type Pool } from '../../server/src/db/pool.ts'
import { withTransaction } from '../../server/src/db/tx.ts'
import { newId } from '../../server/src/lib/ids.ts'
import { recordEvent } from '../../server/src/modules/events/event.service.ts'
import {
  deriveAccountXpub,
  deriveEvmAddress,
  publicKeyToEvmAddress,
} from '../../server/src/modules/keys/key.hd.ts'
import { scratchDatabase } from '../deposits/setup.ts'
import { percentile, sampleWaits, serverUrl } from './setup.ts'

// Diagnostics behind the analysis of `npm run bench -- api` (not part of it; prints, appends nothing):
//   node --import tsx bench/api/probes.ts derive   CPU cost of one deposit address, and of its parts
//   node --import tsx bench/api/probes.ts notify   recordEvent's transaction with and without its NOTIFY
const probe = process.argv[2]

function timeEach(name: string, count: number, work: (index: number) => unknown): void {
  for (let index = 0; index < 200; index += 1) work(index)
  const started = performance.now()
  for (let index = 0; index < count; index += 1) work(1000 + index)
  console.log(`${name.padEnd(60)} ${((performance.now() - started) / count).toFixed(3)} ms`)
}

function deriveProbe(): void {
  const xpub = deriveAccountXpub(randomBytes(64), 0)
  const account = HDKey.fromExtendedKey(xpub)
  const change = account.deriveChild(0)
  const child = change.deriveChild(7)
  const publicKey = child.publicKey ?? new Uint8Array()
  for (let round = 0; round < 2; round += 1) {
    timeEach('deriveEvmAddress(xpub, index), as the API calls it', 1000, (index) =>
      deriveEvmAddress(xpub, index),
    )
    timeEach('  HDKey.fromExtendedKey(xpub)', 1000, () => HDKey.fromExtendedKey(xpub))
    timeEach('  one public deriveChild', 1000, (index) => change.deriveChild(index))
    timeEach('  publicKeyToEvmAddress (decompress + keccak)', 1000, () => publicKeyToEvmAddress(publicKey))
    timeEach('change node (xpub/0) cached: deriveChild + address', 1000, (index) =>
      publicKeyToEvmAddress(change.deriveChild(index).publicKey ?? publicKey),
    )
  }
}

// event.repo.ts insertEvent's statement, without the pg_notify that follows it.
const insertEventSql = `with inserted as (
    insert into events (id, type, merchant_id, subject_id, payload) values ($1, $2, $3, $4, $5::jsonb)
    returning id
  ), job as (
    insert into jobs (kind, payload, attempts_max, dedupe_key)
    select $6, jsonb_build_object('eventId', id), $7, id from inserted where $6::text is not null
    on conflict (dedupe_key) do nothing
  )
  select id from inserted`

async function transactionsPerSecond(
  pool: Pool,
  database: string,
  connections: number,
  seconds: number,
  work: (client: Parameters<Parameters<typeof withTransaction>[1]>[0], index: number) => Promise<unknown>,
) {
  const latencies: number[] = []
  const waits = sampleWaits(database)
  const started = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() - started < seconds * 1000 && next < 1_000_000) {
        const index = next
        next += 1
        const sent = performance.now()
        await withTransaction(pool, (client) => work(client, index))
        latencies.push(performance.now() - sent)
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  const waited = Object.entries(await waits.stop())
    .filter(([, mean]) => mean >= 0.05)
    .map(([wait, mean]) => `${wait} ${mean.toFixed(1)}`)
    .join(', ')
  return `${(latencies.length / elapsed).toFixed(0)} tx/s, p99 ${percentile(latencies, 99).toFixed(1)} ms; waits: ${waited}`
}

async function notifyProbe(): Promise<void> {
  const name = 'sluice_bench_api_probe'
  const database = await scratchDatabase(serverUrl, name)
  const payload = { payment_id: 'pay_probe', amount: '10000000', status: 'confirmed' }
  const withNotify = (client: Pool | Parameters<Parameters<typeof withTransaction>[1]>[0]) =>
    recordEvent(client, {
      type: 'payment.confirmed',
      merchantId: database.merchantId,
      subjectId: 'pay_probe',
      payload,
    })
  const withoutNotify = (client: Pool | Parameters<Parameters<typeof withTransaction>[1]>[0]) =>
    client.query(insertEventSql, [
      newId('evt'),
      'payment.confirmed',
      database.merchantId,
      'pay_probe',
      JSON.stringify(payload),
      'dispatch-event',
      5,
    ])
  for (const connections of [4, 16]) {
    const pool = createPool(database.url, { sizeMax: connections, applicationName: 'sluice-bench-probe' })
    for (let round = 0; round < 3; round += 1) {
      console.log(
        `${connections} connections, recordEvent (insert + NOTIFY): ${await transactionsPerSecond(pool, name, connections, 3, withNotify)}`,
      )
      console.log(
        `${connections} connections, same insert, no NOTIFY:      ${await transactionsPerSecond(pool, name, connections, 3, withoutNotify)}`,
      )
    }
    await pool.end()
  }
  await database.pool.end()
}

if (probe === 'derive') deriveProbe()
else if (probe === 'notify') await notifyProbe()
else throw new Error('usage: probes.ts derive|notify')
