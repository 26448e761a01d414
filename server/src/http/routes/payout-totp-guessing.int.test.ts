import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { getAddress } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import { creditStoreBalance } from '../../../test/setup/store-funding.ts'
import { createLogger } from '../../lib/logger.ts'
import { createMerchant, issueApiKey } from '../../modules/merchants/merchant.service.ts'
import { totpAt } from '../../modules/payouts/payout.totp.ts'
import { importSanctionLists } from '../../modules/sanctions/sanction.service.ts'
import { buildApp } from '../app.ts'
import { createMetrics } from '../metrics.ts'

// A payout approval's TOTP code is the approver's proof of presence (ADR 0014), six digits: a holder of a
// payouts:approve key without the approver's authenticator must not be able to guess it at the key's
// normal rate (20/s here, the default). As dashboard sign-in, an approver takes 5 wrong codes per 15 min.
const networkName = 'testnet'
const network = offlineNetwork({
  name: networkName,
  tokenAddress: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  confirmations: 2,
})

let database: TestDatabase
let app: FastifyInstance
let clockMs = Date.UTC(2030, 0, 1)
const keys = { admin: '', initiator: '', approver: '' }

const call = async (key: string, method: string, url: string, body: unknown, idem?: string) => {
  clockMs += 50 // 20 requests per second: the default per-key rate, never 429
  const response = await app.inject({
    method: method as 'POST',
    url,
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      ...(idem === undefined ? {} : { 'idempotency-key': idem }),
    },
    payload: JSON.stringify(body),
  })
  return { status: response.statusCode, body: response.json() as Record<string, unknown> }
}

beforeAll(async () => {
  database = await createTestDatabase()
  const pool = database.pool
  const store = await createMerchant(pool, { name: 'TOTP Store' })
  const merchantId = store.merchant.id
  keys.admin = store.apiKey.key
  keys.initiator = (
    await issueApiKey(pool, { merchantId, label: 'i', scopes: ['payouts:write', 'payouts:read'] })
  ).key
  keys.approver = (
    await issueApiKey(pool, { merchantId, label: 'a', scopes: ['payouts:approve', 'payouts:read'] })
  ).key
  app = await buildApp({
    pool,
    logger: createLogger('silent'),
    metrics: createMetrics(),
    networks: [network],
    api: { now: () => new Date(clockMs) }, // default rate limit
  })
  await creditStoreBalance(pool, merchantId, `USDT@${networkName}`, 1_000_000_000n)
  const listDirectory = mkdtempSync(join(tmpdir(), 'sluice-sanctions-'))
  chmodSync(listDirectory, 0o755)
  const list = join(listDirectory, 'sanctioned_addresses_ETH.txt')
  writeFileSync(list, '0x000000000000000000000000000000000000dEaD\n')
  await importSanctionLists(pool, [list])
})

afterAll(async () => {
  await app?.close()
  await database?.drop()
})

describe('payout approval TOTP guessing', () => {
  it('stops accepting codes for an approver after a handful of wrong guesses', async () => {
    const enrolled = await call(keys.admin, 'POST', '/v1/payout-approvers', {
      name: `Checker ${randomBytes(3).toString('hex')}`,
      roles: ['approver'],
    })
    const checker = enrolled.body as { approver: { id: string }; totp_secret: string }
    const destination = getAddress(privateKeyToAddress(`0x${randomBytes(32).toString('hex')}`))
    const created = await call(
      keys.initiator,
      'POST',
      '/v1/payouts',
      { network: networkName, asset: 'USDT', destination, amount: '500' },
      `po-${randomBytes(4).toString('hex')}`,
    )
    const payout = created.body as { id: string; revision: number; status: string }
    expect(created.body).toMatchObject({ status: 'pending_approval' })

    // The holder of the payouts:approve key does not have Checker's authenticator: they guess.
    const valid = () => {
      const seconds = BigInt(clockMs) / 1000n
      return new Set([-30n, 0n, 30n].map((d) => totpAt(checker.totp_secret, seconds + d)))
    }
    const statuses = new Map<string, number>()
    let guess = 0
    for (let attempt = 0; attempt < 200; attempt += 1) {
      let code = ''
      do code = String(guess++).padStart(6, '0')
      while (valid().has(code) || valid().has(String(guess).padStart(6, '0')))
      const answer = await call(keys.approver, 'POST', `/v1/payouts/${payout.id}/approve`, {
        approver_id: checker.approver.id,
        revision: payout.revision,
        totp_code: code,
      })
      const key = `${answer.status} ${String(answer.body.code)}`
      statuses.set(key, (statuses.get(key) ?? 0) + 1)
    }
    // 200 guesses in 10 s of the clock: five are judged, every later one refused unjudged.
    expect(Object.fromEntries(statuses)).toEqual({
      '403 approval-totp-invalid': 5,
      '429 approval-totp-rate-limited': 195,
    })

    // The guess that would hit (simulated: the right code) is refused too while the bound holds.
    const approve = () =>
      call(keys.approver, 'POST', `/v1/payouts/${payout.id}/approve`, {
        approver_id: checker.approver.id,
        revision: payout.revision,
        totp_code: totpAt(checker.totp_secret, BigInt(clockMs) / 1000n),
      })
    const hit = await approve()
    expect([hit.status, hit.body.code]).toEqual([429, 'approval-totp-rate-limited'])

    // Once the window has passed since the last refused attempt, the approver's right code is accepted.
    clockMs += 15 * 60 * 1000 + 1000
    const later = await approve()
    expect([later.status, later.body.status]).toEqual([200, 'queued'])
  })
})
