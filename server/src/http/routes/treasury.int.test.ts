import { apiOperations } from '@sluice/sdk/api/contract'
import {
  type DashboardChangeWire,
  type DashboardOverviewWire,
  dashboardStreamPath,
} from '@sluice/sdk/api/dashboard'
import { operationErrors } from '@sluice/sdk/api/operation'
import { createSluiceClient, SluiceApiError, type SluiceClient } from '@sluice/sdk/client'
import type { FastifyInstance } from 'fastify'
import type { Address } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { testSecrets } from '../../../test/setup/leak-guard.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import { withTransaction } from '../../db/tx.ts'
import { createLogger } from '../../lib/logger.ts'
import { recordEvent } from '../../modules/events/event.service.ts'
import { createRawMasterKeyProvider } from '../../modules/keys/key.master.ts'
import { initKeys } from '../../modules/keys/key.service.ts'
import { createMerchant, issueApiKey } from '../../modules/merchants/merchant.service.ts'
import { enrolApprover } from '../../modules/payouts/payout.service.ts'
import { totpAt } from '../../modules/payouts/payout.totp.ts'
import { setDashboardCredential } from '../../modules/sessions/session.service.ts'
import { recordGatewayHotWallet } from '../../modules/sweeps/sweep.service.ts'
import { watchTreasury } from '../../modules/treasury/treasury.service.ts'
import { buildApp } from '../app.ts'
import { createMetrics } from '../metrics.ts'
import type { OpenApiDocument } from '../openapi.ts'

// The treasury API through the SDK on a real Fastify and PostgreSQL; balances come from a fake reader (the
// chain side is treasury.int.test.ts on anvil). The treasury is the operator's (docs/adr/0026): the
// operator store reads and decides; another store, with every scope or an admin/treasurer session, gets
// 403 treasury-operator-only from every treasury operation and no treasury data in the dashboard either.
const usdtAddress = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
const hot = '0x00000000000000000000000000000000000000aa' as Address
const cold = '0x00000000000000000000000000000000000000cc' as Address
const network = offlineNetwork({
  name: 'testnet',
  tokenAddress: usdtAddress,
  confirmations: 2,
  treasury: { coldAddress: cold, hotWallet: { USDT: { floorMinor: 100n, ceilingMinor: 1_000n } } },
})

let database: TestDatabase
let app: FastifyInstance
let baseUrl = ''
let clockMs = Date.now()
const keys = { reader: '', approver: '', none: '' }
let treasurer = { id: '', secret: '' }
let checker = { id: '', secret: '' }
const password = 'a long dashboard passphrase for tests'
/** The operator store's admin + treasurer, and another store's: ids, TOTP secrets, session cookies. */
const people = {
  operator: { store: '', id: '', secret: '', cookie: '' },
  other: { store: '', id: '', secret: '', cookie: '', key: '' },
}
let hotWalletAddress = ''
const client = (apiKey: string): SluiceClient => createSluiceClient({ baseUrl, apiKey })
const code = (secret: string) => {
  clockMs += 30_000
  return totpAt(secret, BigInt(clockMs) / 1000n)
}

async function apiError(promise: Promise<unknown>): Promise<SluiceApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof SluiceApiError)) throw new Error(`expected a SluiceApiError, got ${String(error)}`)
  return error
}

async function watchWith(hotBalance: bigint): Promise<void> {
  await watchTreasury({
    pool: database.pool,
    logger: createLogger('silent'),
    chain: { network, tokenBalance: async (_token, holder) => (holder === hot ? hotBalance : 5_000n) },
    hotWalletAddress: hot,
    now: () => new Date(clockMs),
  })
}

/** An admin + treasurer with a dashboard login in `merchantId`. */
async function addPerson(merchantId: string, login: string): Promise<{ id: string; secret: string }> {
  const enrolled = await enrolApprover(database.pool, {
    merchantId,
    name: login,
    roles: ['admin', 'treasurer'],
  })
  await setDashboardCredential(database.pool, {
    merchantId,
    approverId: enrolled.approver.id,
    login,
    password,
  })
  return { id: enrolled.approver.id, secret: enrolled.totpSecret }
}

async function signIn(login: string, secret: string): Promise<string> {
  const response = await fetch(`${baseUrl}/v1/public/dashboard/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login, password, totp_code: code(secret) }),
  })
  expect(response.status).toBe(200)
  return response.headers.get('set-cookie')?.split(';')[0] ?? ''
}

/** A request as the dashboard makes it (session cookie + its header) or as a store's backend (API key). */
function call(
  method: string,
  path: string,
  credentials: { cookie: string } | { key: string },
  body?: unknown,
): Promise<Response> {
  const headers: Record<string, string> =
    'cookie' in credentials
      ? { cookie: credentials.cookie, 'x-sluice-client': 'dashboard' }
      : { authorization: `Bearer ${credentials.key}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  return fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

beforeAll(async () => {
  database = await createTestDatabase()
  const store = await createMerchant(database.pool, { name: 'Treasury API Store' })
  const merchantId = store.merchant.id
  const otherStore = await createMerchant(database.pool, { name: 'Marketplace Seller' })
  people.operator.store = merchantId
  people.other.store = otherStore.merchant.id
  // The store's first key holds every scope.
  people.other.key = otherStore.apiKey.key
  Object.assign(people.operator, await addPerson(merchantId, 'op'))
  Object.assign(people.other, await addPerson(otherStore.merchant.id, 'seller'))
  // The hot wallet the dashboard reads on chain, as a signing worker records it.
  const provider = createRawMasterKeyProvider(Buffer.from(testSecrets.masterKeyHex, 'hex'))
  await initKeys(database.pool, provider)
  hotWalletAddress = (await recordGatewayHotWallet(database.pool, provider, [network])).toLowerCase()
  keys.none = (await issueApiKey(database.pool, { merchantId, label: 'none', scopes: ['invoices:read'] })).key
  keys.reader = (await issueApiKey(database.pool, { merchantId, label: 'r', scopes: ['payouts:read'] })).key
  keys.approver = (
    await issueApiKey(database.pool, { merchantId, label: 'a', scopes: ['payouts:approve', 'payouts:read'] })
  ).key
  const enrolledTreasurer = await enrolApprover(database.pool, {
    merchantId,
    name: 'T',
    roles: ['treasurer'],
  })
  treasurer = { id: enrolledTreasurer.approver.id, secret: enrolledTreasurer.totpSecret }
  const enrolledChecker = await enrolApprover(database.pool, { merchantId, name: 'C', roles: ['approver'] })
  checker = { id: enrolledChecker.approver.id, secret: enrolledChecker.totpSecret }
  app = await buildApp({
    pool: database.pool,
    logger: createLogger('silent'),
    metrics: createMetrics(),
    networks: [network],
    api: {
      now: () => new Date(clockMs),
      assertResponses: true,
      rateLimit: { requestsPerSecond: 10_000, burst: 10_000, bucketsMax: 100 },
      operatorStores: [merchantId],
    },
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  baseUrl = `http://127.0.0.1:${address.port}`
  people.operator.cookie = await signIn('op', people.operator.secret)
  people.other.cookie = await signIn('seller', people.other.secret)
})

afterAll(async () => {
  await app?.close()
  await database?.drop()
})

describe('treasury API', () => {
  it('lists balances with the band and proposals (payouts:read); other scopes are refused', async () => {
    await watchWith(1_500n)
    const balances = await client(keys.reader).listTreasuryBalances({})
    expect(balances.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          wallet: 'hot',
          balance_minor: '1500',
          floor_minor: '100',
          ceiling_minor: '1000',
        }),
        expect.objectContaining({ wallet: 'cold', address: cold, balance_minor: '5000', floor_minor: null }),
      ]),
    )
    const page = await client(keys.reader).listTreasuryProposals({ query: { status: 'open' } })
    expect(page.data).toHaveLength(1)
    expect(page.data[0]).toMatchObject({ kind: 'sweep_to_cold', amount_minor: '500', cold_address: cold })
    expect((await apiError(client(keys.none).listTreasuryProposals({}))).status).toBe(403)
  })

  it('a treasurer approves quoting the revision; stale, wrong role and reused codes are refused', async () => {
    const [proposal] = (await client(keys.reader).listTreasuryProposals({ query: { status: 'open' } })).data
    if (proposal === undefined) throw new Error('no proposal')
    const decide = (body: { revision: number; approver_id: string; totp_code: string }) =>
      client(keys.approver).approveTreasuryProposal({ params: { id: proposal.id }, body })
    expect(
      (
        await apiError(
          decide({
            revision: proposal.revision + 1,
            approver_id: treasurer.id,
            totp_code: code(treasurer.secret),
          }),
        )
      ).code,
    ).toBe('treasury-proposal-old-revision')
    expect(
      (
        await apiError(
          decide({ revision: proposal.revision, approver_id: checker.id, totp_code: code(checker.secret) }),
        )
      ).code,
    ).toBe('approver-not-eligible')
    const approved = await decide({
      revision: proposal.revision,
      approver_id: treasurer.id,
      totp_code: code(treasurer.secret),
    })
    expect(approved).toMatchObject({ status: 'approved', decided_by: treasurer.id })
    expect(
      (
        await apiError(
          decide({
            revision: approved.revision,
            approver_id: treasurer.id,
            totp_code: code(treasurer.secret),
          }),
        )
      ).code,
    ).toBe('treasury-proposal-not-approvable')
    expect(
      (
        await apiError(
          client(keys.reader).approveTreasuryProposal({
            params: { id: proposal.id },
            body: { revision: approved.revision, approver_id: treasurer.id, totp_code: '123456' },
          }),
        )
      ).status,
    ).toBe(403)
  })
})

const treasuryOperations = apiOperations.filter((operation) => operation.tags.includes('treasury'))

/** An open top-up request (the hot wallet below its floor): a proposal any treasurer could reject. */
async function openTopUp() {
  await watchWith(50n)
  const page = await client(keys.reader).listTreasuryProposals({ query: { status: 'open' } })
  const topUp = page.data.find((proposal) => proposal.kind === 'topup_from_cold')
  if (topUp === undefined) throw new Error('no open top-up')
  return topUp
}

type Stream = { changes: DashboardChangeWire[]; close: () => void }

/** The dashboard's live stream as its EventSource reads it (the cookie alone), collecting `change` events. */
async function openStream(cookie: string): Promise<Stream> {
  const controller = new AbortController()
  const response = await fetch(`${baseUrl}${dashboardStreamPath}`, {
    headers: { cookie },
    signal: controller.signal,
  })
  expect(response.status).toBe(200)
  const reader = response.body?.getReader()
  if (reader === undefined) throw new Error('no stream body')
  const changes: DashboardChangeWire[] = []
  const decoder = new TextDecoder()
  let buffer = ''
  let ready = false
  void (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }))
      if (chunk.done) return
      buffer += decoder.decode(chunk.value, { stream: true })
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (block.startsWith('event: ready')) ready = true
        if (block.startsWith('event: change') && data !== undefined)
          changes.push(JSON.parse(data) as DashboardChangeWire)
      }
    }
  })()
  await expect.poll(() => ready, { timeout: 10_000, interval: 20 }).toBe(true)
  return { changes, close: () => controller.abort() }
}

describe('treasury for operator stores only', () => {
  it('answers another store 403 treasury-operator-only on every treasury operation, whatever its scopes and roles', async () => {
    const topUp = await openTopUp()
    expect(treasuryOperations.map((operation) => operation.operationId).sort()).toEqual([
      'approveTreasuryProposal',
      'listTreasuryBalances',
      'listTreasuryProposals',
      'rejectTreasuryProposal',
    ])
    // Through the SDK, as a store's backend would call it: the typed code.
    const refused = await apiError(client(people.other.key).listTreasuryBalances({}))
    expect([refused.status, refused.code]).toEqual([403, 'treasury-operator-only'])
    const document = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as OpenApiDocument
    for (const operation of treasuryOperations) {
      const path = operation.path.replace(':id', topUp.id)
      // A decision the store's own treasurer signs with a valid code, then one with invalid input: the
      // refusal comes first either way, so nothing about the proposal or the input is told.
      const bodies =
        operation.body === undefined
          ? [undefined]
          : [
              {
                revision: topUp.revision,
                approver_id: people.other.id,
                totp_code: code(people.other.secret),
              },
              { revision: 'latest' },
            ]
      for (const credentials of [{ key: people.other.key }, { cookie: people.other.cookie }])
        for (const body of bodies) {
          const response = await call(operation.method, path, credentials, body)
          expect([operation.operationId, response.status, await response.json()]).toEqual([
            operation.operationId,
            403,
            { code: 'treasury-operator-only', message: expect.any(String) },
          ])
        }
      const documented = document.paths[operation.path.replace(/:([a-z_]+)/g, '{$1}')]?.[
        operation.method.toLowerCase()
      ] as { responses: Record<string, unknown> } | undefined
      expect(JSON.stringify(documented?.responses['403'])).toContain('"treasury-operator-only"')
      expect(operationErrors(operation)).toContainEqual(
        expect.objectContaining({ code: 'treasury-operator-only', status: 403 }),
      )
    }
    // Nothing was decided: the top-up is open at its revision, for the operator to decide.
    const open = await client(keys.reader).listTreasuryProposals({ query: { status: 'open' } })
    expect(open.data.find((proposal) => proposal.id === topUp.id)).toMatchObject({
      status: 'open',
      revision: topUp.revision,
      decided_by: null,
    })
  })

  it('lets the operator store’s treasurer session read and decide, where another store’s is refused', async () => {
    const [topUp] = (await client(keys.reader).listTreasuryProposals({ query: { status: 'open' } })).data
    if (topUp === undefined) throw new Error('no open proposal')
    const decide = (person: { id: string; secret: string; cookie: string }) =>
      call(
        'POST',
        `/v1/treasury/proposals/${topUp.id}/reject`,
        { cookie: person.cookie },
        { revision: topUp.revision, approver_id: person.id, totp_code: code(person.secret) },
      )
    const byOther = await decide(people.other)
    expect([byOther.status, ((await byOther.json()) as { code: string }).code]).toEqual([
      403,
      'treasury-operator-only',
    ])
    const balances = await call('GET', '/v1/treasury/balances', { cookie: people.operator.cookie })
    expect(balances.status).toBe(200)
    expect(((await balances.json()) as { data: unknown[] }).data).toEqual(
      expect.arrayContaining([expect.objectContaining({ wallet: 'cold', address: cold })]),
    )
    const byOperator = await decide(people.operator)
    expect(byOperator.status).toBe(200)
    expect(await byOperator.json()).toMatchObject({ status: 'rejected', decided_by: people.operator.id })
  })

  it('shows the hot wallet on chain to the operator store only; another store sees its ledger and networks', async () => {
    const session = async (cookie: string) =>
      await (await call('GET', '/v1/dashboard/session', { cookie })).json()
    expect(await session(people.operator.cookie)).toMatchObject({
      store_id: people.operator.store,
      operator_store: true,
    })
    expect(await session(people.other.cookie)).toMatchObject({
      store_id: people.other.store,
      operator_store: false,
    })
    const overview = async (credentials: { cookie: string } | { key: string }) => {
      const response = await call('GET', '/v1/dashboard/overview', credentials)
      expect(response.status).toBe(200)
      return (await response.json()) as DashboardOverviewWire
    }
    const ofOperator = await overview({ cookie: people.operator.cookie })
    expect(ofOperator.on_chain.map((row) => [row.asset, row.address?.toLowerCase()])).toEqual([
      ['USDT@testnet', hotWalletAddress],
    ])
    for (const credentials of [{ cookie: people.other.cookie }, { key: people.other.key }]) {
      const ofOther = await overview(credentials)
      expect(ofOther.on_chain).toEqual([])
      expect(ofOther.networks.map((status) => status.name)).toEqual(['testnet'])
      const ledger = await (await call('GET', '/v1/balances', credentials)).text()
      for (const answer of [JSON.stringify(ofOther), ledger])
        expect(answer.toLowerCase()).not.toContain(hotWalletAddress.slice(2))
    }
  })

  it('pushes installation-wide treasury events to the operator store’s live stream only', async () => {
    const operatorStream = await openStream(people.operator.cookie)
    const otherStream = await openStream(people.other.cookie)
    try {
      // A new top-up request (treasury.topup_requested, merchantId null; a balance inside the band first
      // resolves any open one), then one event of each store.
      await watchWith(500n)
      await watchWith(50n)
      for (const store of [people.operator.store, people.other.store])
        await withTransaction(database.pool, (client) =>
          recordEvent(client, {
            type: 'invoice.expired',
            merchantId: store,
            subjectId: `inv_of_${store}`,
            payload: {},
          }),
        )
      // The stores' own events come after the treasury event: once each arrived, so had it, if at all.
      for (const [stream, store] of [
        [operatorStream, people.operator.store],
        [otherStream, people.other.store],
      ] as const)
        await expect
          .poll(() => stream.changes.some((change) => change.subject_id === `inv_of_${store}`), {
            timeout: 15_000,
            interval: 50,
          })
          .toBe(true)
      expect(operatorStream.changes.map((change) => change.type)).toContain('treasury.topup_requested')
      expect(otherStream.changes.map((change) => [change.type, change.subject_id])).toEqual([
        ['invoice.expired', `inv_of_${people.other.store}`],
      ])
    } finally {
      operatorStream.close()
      otherStream.close()
    }
  })
})
