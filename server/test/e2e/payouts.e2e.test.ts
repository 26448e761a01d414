import type { PayoutWire } from '@sluice/sdk/api/payouts'
import { createSluiceClient, type SluiceClient } from '@sluice/sdk/client'
import { type Address, getAddress, type Hex, parseAbiItem } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRawMasterKeyProvider } from '../../src/modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../../src/modules/keys/key.service.ts'
import { createMerchant, issueApiKey } from '../../src/modules/merchants/merchant.service.ts'
import { totpAt } from '../../src/modules/payouts/payout.totp.ts'
import {
  getGatewayHotWalletAddress,
  recordGasStationFunding,
} from '../../src/modules/sweeps/sweep.service.ts'
import { createEndpoint } from '../../src/modules/webhooks/webhook.service.ts'
import { startTestChain, type TestChain } from '../setup/chain.ts'
import { createTestDatabase, type TestDatabase } from '../setup/database.ts'
import { startWebhookReceiver, until } from '../setup/e2e.ts'
import {
  type GatewayProcess,
  spawnGateway,
  temporaryDataDir,
  waitUntilReady,
  writeConfigFile,
} from '../setup/gateway-process.ts'
import { testSecrets } from '../setup/leak-guard.ts'
import { importTestSanctionsList } from '../setup/sanctions.ts'

// A payout end to end: a real gateway process (API + signer worker), anvil, PostgreSQL and a webhook
// receiver. The store is paid through an invoice, requests a payout that the built-in policy holds for one
// approval, an approver approves it with a TOTP code, and the worker sends it to finality.
const networkName = 'chain-a'
const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)')

let database: TestDatabase
let chain: TestChain
let gateway: GatewayProcess
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>
let admin: SluiceClient
let initiator: SluiceClient
let approver: SluiceClient
let approverKeyId = ''
let hotWallet: Address

/** The payout's webhook types in recorded order (time-ordered ids): deliveries may arrive in any order. */
function payoutEvents(payoutId: string): string[] {
  return receiver.received
    .map(({ body }) => JSON.parse(body) as { id: string; type: string; data: { payout_id?: string } })
    .filter((event) => event.data.payout_id === payoutId)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((event) => event.type)
}

beforeAll(async () => {
  database = await createTestDatabase()
  chain = await startTestChain(31_337)
  const provider = createRawMasterKeyProvider(Buffer.from(testSecrets.masterKeyHex, 'hex'))
  await initKeys(database.pool, provider)
  const store = await createMerchant(database.pool, { name: 'Payout E2E Store' })
  await exportAccountXpub(database.pool, provider, store.merchant.id)
  const initiatorKey = await issueApiKey(database.pool, {
    merchantId: store.merchant.id,
    label: 'treasury bot',
    scopes: ['payouts:write', 'payouts:read'],
  })
  const approverKey = await issueApiKey(database.pool, {
    merchantId: store.merchant.id,
    label: 'approver',
    scopes: ['payouts:approve', 'payouts:read'],
  })
  approverKeyId = approverKey.apiKeyId
  await importTestSanctionsList(database.pool)
  receiver = await startWebhookReceiver()
  await createEndpoint(database.pool, {
    merchantId: store.merchant.id,
    url: receiver.url,
    eventFilter: '*',
    allowInsecure: true,
  })
  // The hot wallet pays gas from the gas station, funded as the devnet does.
  hotWallet = await getGatewayHotWalletAddress(database.pool, provider)
  const gas = 10n * 10n ** 18n
  await chain.rpc('anvil_setBalance', [hotWallet, `0x${gas.toString(16)}`])
  await recordGasStationFunding(database.pool, networkName, gas, 'devnet-initial')
  const dataDir = temporaryDataDir()
  const configPath = writeConfigFile(dataDir, {
    // The test's webhook receiver listens on 127.0.0.1: a local receiver (ADR 0010).
    webhooks: { allowLocalEndpoints: true },
    networks: [
      {
        name: networkName,
        kind: 'evm',
        chainId: chain.anvil.chainId,
        rpcUrls: [chain.anvil.rpcUrl, chain.anvil.wsUrl],
        blockTimeMs: 60_000,
        finality: { kind: 'confirmations', confirmations: 3 },
        tokens: [{ symbol: 'USDT', contractAddress: chain.tokens.usdt, decimals: 6 }],
      },
    ],
  })
  gateway = await spawnGateway('all-in-one', {
    dataDir,
    env: { DATABASE_URL: database.url, SLUICE_CONFIG: configPath, SLUICE_LOG_LEVEL: 'warn' },
  })
  await waitUntilReady(gateway)
  admin = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: store.apiKey.key })
  initiator = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: initiatorKey.key })
  approver = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: approverKey.key })
})

afterAll(async () => {
  gateway?.child.kill('SIGTERM')
  await gateway?.waitForExit().catch(() => {})
  receiver?.close()
  await chain?.stop()
  await database?.drop()
})

describe('payouts through the SDK', () => {
  it('a paid store requests a payout, an approver approves with TOTP, it is final on chain with webhooks', async () => {
    const invoice = await admin.createInvoice({ body: { amount: '100', currency: 'USDT' } })
    const address = invoice.payment_options[0]?.address as Hex
    await chain.pay(chain.tokens.usdt, 1, address, 100_000_000n)
    await chain.mine(3)
    await until(
      () => admin.getInvoice({ params: { id: invoice.id } }),
      (current) => current.status === 'settled',
    )
    // The hot wallet's tokens: minted here rather than waiting for the sweep, which is tested apart.
    await chain.mint(chain.tokens.usdt, hotWallet, 100_000_000n)

    const enrolled = await admin.enrolPayoutApprover({
      body: { name: 'Checker', roles: ['approver'], api_key_id: approverKeyId },
    })
    const destination = getAddress(chain.account(5).address)
    const requested = await initiator.createPayout({
      body: {
        network: networkName,
        asset: 'USDT',
        destination,
        amount: '40',
        external_reference: 'salary-7',
      },
    })
    expect(requested).toMatchObject({
      status: 'pending_approval',
      decision: { policy_version: null, rule_id: null, action: 'require_approval' },
    })
    const balances = await admin.listBalances({})
    expect(balances.data.find((balance) => balance.asset === `USDT@${networkName}`)?.available).toBe('60')

    const approved = await approver.approvePayout({
      params: { id: requested.id },
      body: {
        approver_id: enrolled.approver.id,
        revision: requested.revision,
        totp_code: totpAt(enrolled.totp_secret ?? '', BigInt(Date.now()) / 1000n),
      },
    })
    expect(approved.status).toBe('queued')

    const final = await until(
      async (): Promise<PayoutWire> => {
        await chain.mine(1)
        return await initiator.getPayout({ params: { id: requested.id } })
      },
      (payout) => payout.status === 'finalized' || payout.status === 'failed',
    )
    expect(final).toMatchObject({ status: 'finalized', error: null })
    const logs = await chain.publicClient.getLogs({
      address: chain.tokens.usdt,
      event: transferEvent,
      args: { to: destination },
      fromBlock: 0n,
    })
    expect(logs.map((log) => [log.transactionHash, log.args.from?.toLowerCase(), log.args.value])).toEqual([
      [final.tx_hash, hotWallet.toLowerCase(), 40_000_000n],
    ])
    await until(
      async () => payoutEvents(requested.id),
      (types) => types.includes('payout.received'),
    )
    expect(payoutEvents(requested.id)).toEqual(['payout.sent', 'payout.received'])
  })
})
