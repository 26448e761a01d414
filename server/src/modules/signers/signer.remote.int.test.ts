import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { type Address, encodeFunctionData, parseAbi } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CustodyFixture,
  fixtureNetworkName,
  startCustodyFixture,
} from '../../../test/setup/custody-fixture.ts'
import { assertNoSecretsIn } from '../../../test/setup/leak-guard.ts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { createPayoutRunner } from '../../jobs/send-payouts.ts'
import { createLogger } from '../../lib/logger.ts'
import { buildReferenceSigner } from '../../main/commands/signer.ts'
import type { Payout } from '../payouts/payout.types.ts'
import { createRemoteSigner } from './signer.remote.ts'
import type { SigningRequest } from './signer.types.ts'
import { signerHeaders, signingRequestToWire, signRequestBody } from './signer.wire.ts'

// Payouts signed by the reference remote signing service over loopback HTTP, and every refusal it makes:
// tampered call data, a record that differs from the request, an unapproved or unknown payout, a replayed
// or stale request, bad authentication, a fee over the cap. Codes are asserted, never messages.
const transferAbi = parseAbi(['function transfer(address to, uint256 amount)'])
const usdt = (whole: bigint) => whole * 10n ** 6n
const secret = randomBytes(32)
const secretHex = secret.toString('hex')
const logLines: string[] = []
const captured = new Writable({
  write(chunk, _encoding, done) {
    logLines.push(String(chunk))
    done()
  },
})

let fixture: CustodyFixture
let server: FastifyInstance
let url: string
let secretFile: string
let journalFile: string
let remoteNetwork: NetworkConfig

function remote(options: { secret?: Uint8Array; now?: () => Date; capWei?: bigint } = {}) {
  return createRemoteSigner({
    url,
    secret: options.secret ?? secret,
    maxFeePerGasCapWei: options.capWei ?? 10n ** 30n,
    ...(options.now === undefined ? {} : { now: options.now }),
  })
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    return (error as { code: string }).code
  }
  throw new Error('expected a refusal')
}

/** The request the transaction manager would make for `payout`, with optional tampering. */
function requestFor(
  payout: Payout,
  change: { callDataAmount?: bigint; callDataTo?: Address; itemAmount?: bigint; itemTo?: Address } = {},
): SigningRequest {
  return {
    network: fixtureNetworkName,
    chainId: fixture.network.chainId,
    from: fixture.hotWallet,
    transaction: {
      to: payout.tokenAddress as Address,
      data: encodeFunctionData({
        abi: transferAbi,
        functionName: 'transfer',
        args: [change.callDataTo ?? (payout.destination as Address), change.callDataAmount ?? payout.amount],
      }),
      value: 0n,
      gas: 100_000n,
      nonce: 999,
      maxFeePerGas: 3_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
    },
    pays: [
      {
        kind: 'payout',
        id: payout.id,
        merchantId: payout.merchantId,
        revision: payout.revision,
        tokenAddress: payout.tokenAddress as Address,
        destination: change.itemTo ?? (payout.destination as Address),
        amount: change.itemAmount ?? payout.amount,
      },
    ],
  }
}

beforeAll(async () => {
  fixture = await startCustodyFixture()
  await fixture.fund('USDT', usdt(10_000n))
  const directory = mkdtempSync(join(tmpdir(), 'sluice-signer-'))
  secretFile = join(directory, 'signer.secret')
  journalFile = join(directory, 'journal', 'signer-journal.jsonl')
  writeFileSync(secretFile, secretHex, { mode: 0o600 })
  server = await buildReferenceSigner(
    {
      pool: fixture.database.pool,
      masterKeyProvider: fixture.provider,
      networks: [fixture.network],
      logger: createLogger('info', captured),
    },
    { secretFile, journalFile },
  )
  url = await server.listen({ host: '127.0.0.1', port: 0 })
  remoteNetwork = { ...fixture.network, signer: { kind: 'remote', url, secretFile } }
})

afterAll(async () => {
  await server?.close()
  await fixture?.stop()
})

async function settle(id: string, network: NetworkConfig): Promise<Payout> {
  const run = createPayoutRunner({
    pool: fixture.database.pool,
    logger: createLogger('silent'),
    networks: [network],
    masterKeyProvider: fixture.provider,
    now: fixture.now,
  })
  for (let index = 0; index < 8; index += 1) {
    await run(fixtureNetworkName)
    const payout = await fixture.payout(id)
    if (['finalized', 'failed', 'blocked', 'cancelled'].includes(payout.status)) return payout
    await fixture.chain.mine(3)
  }
  return await fixture.payout(id)
}

describe('remote signer', () => {
  it('signs an approved payout over loopback HTTP; the payout finalizes with one Transfer', async () => {
    const to = fixture.destination(3)
    const payout = await fixture.approve(await fixture.request(to, '12.5'))
    expect(payout.status).toBe('queued')
    const done = await settle(payout.id, remoteNetwork)
    expect(done.status).toBe('finalized')
    expect(await fixture.transfersTo(fixture.chain.tokens.usdt, to)).toBe(1)
    expect(logLines.join('')).toContain(payout.id)
  })

  it('refuses call data that does not pay what the request says (tampered amount or destination)', async () => {
    const payout = await fixture.approve(await fixture.request(fixture.destination(4), '2'))
    const signer = remote()
    expect(await refusal(signer.sign(requestFor(payout, { callDataAmount: payout.amount + 1n })))).toBe(
      'signer-call-data-mismatch',
    )
    expect(await refusal(signer.sign(requestFor(payout, { callDataTo: fixture.destination(5) })))).toBe(
      'signer-call-data-mismatch',
    )
  })

  it('refuses a consistent tamper: call data and item agree but differ from the approved payout', async () => {
    const payout = await fixture.approve(await fixture.request(fixture.destination(4), '2'))
    const signer = remote()
    const more = payout.amount * 10n
    expect(await refusal(signer.sign(requestFor(payout, { callDataAmount: more, itemAmount: more })))).toBe(
      'signer-item-mismatch',
    )
    const thief = fixture.destination(6)
    expect(await refusal(signer.sign(requestFor(payout, { callDataTo: thief, itemTo: thief })))).toBe(
      'signer-item-mismatch',
    )
    expect(
      await refusal(
        signer.sign({ ...requestFor(payout), pays: [{ ...requestFor(payout).pays[0]!, revision: 1 }] }),
      ),
    ).toBe('signer-item-mismatch')
  })

  it('refuses an unapproved payout and an unknown one', async () => {
    const pending = await fixture.request(fixture.destination(7), '3')
    expect(pending.status).toBe('pending_approval')
    expect(await refusal(remote().sign(requestFor(pending)))).toBe('signer-item-not-approved')
    const unknown = { ...pending, id: 'po_01JAAAAAAAAAAAAAAAAAAAAAAA' }
    expect(await refusal(remote().sign(requestFor(unknown)))).toBe('signer-item-not-found')
  })

  it('refuses bad authentication, a stale timestamp and a replayed request', async () => {
    const payout = await fixture.approve(await fixture.request(fixture.destination(8), '4'))
    expect(await refusal(remote({ secret: randomBytes(32) }).sign(requestFor(payout)))).toBe(
      'signer-auth-failed',
    )
    const late = () => new Date(Date.now() - 31_000)
    expect(await refusal(remote({ now: late }).sign(requestFor(payout)))).toBe('signer-request-expired')
    const body = JSON.stringify(signingRequestToWire(requestFor(payout)))
    const timestamp = Date.now().toString()
    const nonce = randomBytes(16).toString('hex')
    const send = () =>
      fetch(`${url}/v1/sign`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [signerHeaders.timestamp]: timestamp,
          [signerHeaders.nonce]: nonce,
          [signerHeaders.signature]: signRequestBody(secret, timestamp, nonce, body),
        },
        body,
      })
    const first = await send()
    expect(first.status).toBe(200)
    const again = await send()
    expect(again.status).toBe(409)
    expect(((await again.json()) as { code: string }).code).toBe('signer-request-replayed')
    const unsigned = await fetch(`${url}/v1/sign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    expect(((await unsigned.json()) as { code: string }).code).toBe('signer-auth-failed')
  })

  it('enforces the network fee cap itself, one wei above the cap refused', async () => {
    const payout = await fixture.approve(await fixture.request(fixture.destination(8), '4'))
    const capped = { ...fixture.network, maxFeePerGasCapWei: 3_000_000_000n }
    const app = await buildReferenceSigner(
      {
        pool: fixture.database.pool,
        masterKeyProvider: fixture.provider,
        networks: [capped],
        logger: createLogger('silent'),
      },
      { secretFile },
    )
    const cappedUrl = await app.listen({ host: '127.0.0.1', port: 0 })
    try {
      const signer = createRemoteSigner({ url: cappedUrl, secret, maxFeePerGasCapWei: 10n ** 30n })
      const atCap = requestFor(payout)
      await expect(signer.sign(atCap)).resolves.toMatchObject({ hash: expect.stringMatching(/^0x/) })
      const above = { ...atCap, transaction: { ...atCap.transaction, maxFeePerGas: 3_000_000_001n } }
      expect(await refusal(signer.sign(above))).toBe('signer-fee-over-cap')
    } finally {
      await app.close()
    }
  })

  it('a refusing signer leaves the payout queued with a visible reason, nothing signed', async () => {
    const wrongSecretFile = join(mkdtempSync(join(tmpdir(), 'sluice-signer-')), 'wrong.secret')
    writeFileSync(wrongSecretFile, randomBytes(32).toString('hex'), { mode: 0o600 })
    const misconfigured: NetworkConfig = {
      ...fixture.network,
      signer: { kind: 'remote', url, secretFile: wrongSecretFile },
    }
    const to = fixture.destination(9)
    const payout = await fixture.approve(await fixture.request(to, '5'))
    const run = createPayoutRunner({
      pool: fixture.database.pool,
      logger: createLogger('silent'),
      networks: [misconfigured],
      masterKeyProvider: fixture.provider,
      now: fixture.now,
    })
    await run(fixtureNetworkName)
    expect(await fixture.payout(payout.id)).toMatchObject({
      status: 'queued',
      error: 'signer refused: signer-auth-failed',
    })
    expect(await fixture.transfersTo(fixture.chain.tokens.usdt, to)).toBe(0)
    // With the right secret the same payout goes out.
    expect((await settle(payout.id, remoteNetwork)).status).toBe('finalized')
  })

  it('binds each payout to one nonce for ever: a replacement passes, another nonce is refused, also after a restart', async () => {
    const payout = await fixture.approve(await fixture.request(fixture.destination(10), '6'))
    const first = requestFor(payout)
    const at = (nonce: number, maxFeePerGas: bigint) => ({
      ...first,
      transaction: { ...first.transaction, nonce, maxFeePerGas },
    })
    await remote().sign(at(5_000, 3_000_000_000n))
    await expect(remote().sign(at(5_000, 4_000_000_000n))).resolves.toMatchObject({
      hash: expect.any(String),
    })
    expect(await refusal(remote().sign(at(5_001, 3_000_000_000n)))).toBe('signer-nonce-conflict')
    const restarted = await buildReferenceSigner(
      {
        pool: fixture.database.pool,
        masterKeyProvider: fixture.provider,
        networks: [fixture.network],
        logger: createLogger('silent'),
      },
      { secretFile, journalFile },
    )
    const restartedUrl = await restarted.listen({ host: '127.0.0.1', port: 0 })
    try {
      const again = createRemoteSigner({ url: restartedUrl, secret, maxFeePerGasCapWei: 10n ** 30n })
      expect(await refusal(again.sign(at(5_002, 3_000_000_000n)))).toBe('signer-nonce-conflict')
    } finally {
      await restarted.close()
    }
  })

  it('never logs the shared secret or key material', () => {
    const text = logLines.join('')
    expect(text.length).toBeGreaterThan(0)
    assertNoSecretsIn(text, [{ label: 'signer shared secret', value: secretHex }])
  })
})
