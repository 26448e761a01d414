import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { SluiceClient } from '@sluice/sdk/client'
import { type Browser, chromium } from 'playwright-core'
import type { Hex } from 'viem'
import { checkoutBuildDirectory } from '../../src/http/routes/checkout.ts'
import { dashboardBuildDirectory } from '../../src/http/routes/dashboard.ts'
import { addDashboardUser } from '../../src/main/commands/users.ts'
import { createRawMasterKeyProvider } from '../../src/modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../../src/modules/keys/key.service.ts'
import type { MasterKeyProvider } from '../../src/modules/keys/key.types.ts'
import { createMerchant, issueApiKey } from '../../src/modules/merchants/merchant.service.ts'
import { enrolApprover } from '../../src/modules/payouts/payout.service.ts'
import { totpAt } from '../../src/modules/payouts/payout.totp.ts'
import {
  getGatewayHotWalletAddress,
  recordGasStationFunding,
} from '../../src/modules/sweeps/sweep.service.ts'
import { startTestChain, type TestChain } from './chain.ts'
import { createTestDatabase, type TestDatabase } from './database.ts'
import { until } from './e2e.ts'
import {
  type GatewayProcess,
  serverDirectory,
  spawnGateway,
  temporaryDataDir,
  waitUntilReady,
  writeConfigFile,
} from './gateway-process.ts'
import { testSecrets } from './leak-guard.ts'
import { importTestSanctionsList } from './sanctions.ts'

/**
 * Shared by the dashboard's browser tests: a store on a database and an anvil chain, its people (password
 * + TOTP), a real gateway (API + workers) and a headless chromium. Test-only (imported by *.e2e.test.ts
 * files).
 */
const chromiumPath = '/usr/bin/chromium'
export const screenshotDirectory = resolve(serverDirectory, '..', 'test-artifacts', 'screenshots')
export const dashboardNetworkName = 'chain-a'

type DashboardStore = Awaited<ReturnType<typeof createMerchant>>
/** A dashboard person and the TOTP step they used last (the server takes a step once). */
export type DashboardPerson = { login: string; approverId: string; totpSecret: string; lastStep: bigint }

export const nowSeconds = () => BigInt(Date.now()) / 1000n

function ensureWebBuilt(): void {
  if (
    existsSync(join(checkoutBuildDirectory, 'index.html')) &&
    existsSync(join(dashboardBuildDirectory, 'index.html'))
  )
    return
  const build = spawnSync('npm', ['run', 'build', '--workspace', 'web'], {
    cwd: resolve(serverDirectory, '..'),
    encoding: 'utf8',
  })
  if (build.status !== 0) throw new Error(`web build failed:\n${build.stdout}\n${build.stderr}`)
}

/** Fails at once without chromium; builds the web UI when it is not built; makes the screenshot directory. */
export function prepareBrowserRun(): void {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: apt-get install -y chromium`)
  ensureWebBuilt()
  mkdirSync(screenshotDirectory, { recursive: true })
}

/** A store with its account xpub exported, so its invoices get deposit addresses. */
export async function createStore(
  database: TestDatabase,
  provider: MasterKeyProvider,
  name: string,
): Promise<DashboardStore> {
  const store = await createMerchant(database.pool, { name })
  await exportAccountXpub(database.pool, provider, store.merchant.id)
  return store
}

/** Gas for the hot wallet's transactions (booked as the gas station's funding) and USDT to pay out. */
async function fundHotWallet(
  database: TestDatabase,
  chain: TestChain,
  provider: MasterKeyProvider,
  usdtMinor: bigint,
): Promise<void> {
  const hotWallet = await getGatewayHotWalletAddress(database.pool, provider)
  const gas = 10n * 10n ** 18n
  await chain.rpc('anvil_setBalance', [hotWallet, `0x${gas.toString(16)}`])
  await recordGasStationFunding(database.pool, dashboardNetworkName, gas, 'devnet-initial')
  await chain.mint(chain.tokens.usdt, hotWallet, usdtMinor)
}

/**
 * A migrated database and an anvil chain with the gateway's HD root, a store, a sanctions list (screening
 * fails closed) and a hot wallet holding gas and `hotWalletUsdtMinor` USDT. Stops what it started when a
 * step fails, as the caller then has nothing to stop.
 */
export async function startStoreBackend(options: { storeName: string; hotWalletUsdtMinor: bigint }) {
  const database = await createTestDatabase()
  let chain: TestChain | undefined
  try {
    chain = await startTestChain(31_337)
    // The gateway's own master key: the test and the gateway derive the same hot wallet.
    const provider = createRawMasterKeyProvider(Buffer.from(testSecrets.masterKeyHex, 'hex'))
    await initKeys(database.pool, provider)
    const store = await createStore(database, provider, options.storeName)
    await importTestSanctionsList(database.pool)
    await fundHotWallet(database, chain, provider, options.hotWalletUsdtMinor)
    return { database, chain, provider, store }
  } catch (error) {
    await chain?.stop()
    await database.drop()
    throw error
  }
}

/** An API key that requests and reads payouts and nothing else (it cannot approve them). */
export async function issueTreasuryBotKey(database: TestDatabase, merchantId: string) {
  return await issueApiKey(database.pool, {
    merchantId,
    label: 'treasury bot',
    scopes: ['payouts:write', 'payouts:read'],
  })
}

/** A person who signs in to the dashboard with a login, a password and TOTP codes. */
export async function addDashboardPerson(
  database: TestDatabase,
  input: Parameters<typeof addDashboardUser>[1],
): Promise<DashboardPerson> {
  const added = await addDashboardUser(database.pool, input)
  return { login: input.login, approverId: added.approverId, totpSecret: added.totpSecret, lastStep: 0n }
}

/**
 * A code the server has not seen from this person: the current 30 s step or the next (both accepted,
 * ±1 step), newer than the last one they used (the server refuses a step twice); waits for the clock
 * when both are used.
 */
export async function freshCode(person: DashboardPerson): Promise<string> {
  for (;;) {
    const current = nowSeconds() / 30n
    for (const step of [current, current + 1n]) {
      if (step > person.lastStep) {
        person.lastStep = step
        return totpAt(person.totpSecret, step * 30n)
      }
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 1000))
  }
}

/** The all-in-one gateway (API + workers) on `database` with `config`, once it answers ready. */
export async function startGateway(database: TestDatabase, config: unknown): Promise<GatewayProcess> {
  const dataDir = temporaryDataDir()
  const configPath = writeConfigFile(dataDir, config)
  const gateway = await spawnGateway('all-in-one', {
    dataDir,
    env: { DATABASE_URL: database.url, SLUICE_CONFIG: configPath, SLUICE_LOG_LEVEL: 'info' },
  })
  try {
    await waitUntilReady(gateway)
  } catch (error) {
    gateway.child.kill('SIGTERM')
    await gateway.waitForExit().catch(() => {})
    throw error
  }
  return gateway
}

/**
 * Activates a payout policy whose rule "large-payouts" holds payouts of 10 USDT or more for one approval:
 * proposed with the store's admin key and approved by a second person (a policy change needs two).
 */
export async function holdLargePayoutsForApproval(
  database: TestDatabase,
  admin: SluiceClient,
  merchantId: string,
): Promise<void> {
  const checker = await enrolApprover(database.pool, { merchantId, name: 'Checker', roles: ['approver'] })
  const proposed = await admin.proposePayoutPolicy({
    body: {
      policy: {
        rules: [
          {
            id: 'large-payouts',
            match: { amount: { min: '10' } },
            action: { kind: 'require_approval', approvals: 1, role: 'approver' },
          },
        ],
        default_action: { kind: 'allow' },
      },
    },
  })
  await admin.approvePayoutPolicy({
    params: { version: String(proposed.version) },
    body: { approver_id: checker.approver.id, totp_code: totpAt(checker.totpSecret, nowSeconds()) },
  })
}

/** The store earns 100 USDT through an invoice paid on chain and settled, so it has a balance to pay out. */
export async function earnFromPaidInvoice(admin: SluiceClient, chain: TestChain): Promise<void> {
  const invoice = await admin.createInvoice({ body: { amount: '100', currency: 'USDT' } })
  await chain.pay(chain.tokens.usdt, 1, invoice.payment_options[0]?.address as Hex, 100_000_000n)
  await chain.mine(3)
  await until(
    () => admin.getInvoice({ params: { id: invoice.id } }),
    (current) => current.status === 'settled',
  )
}

export async function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  return await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
      ...extraArgs,
    ],
  })
}

/** Stops whatever the test file started; a part is missing when its start failed. */
export async function stopDashboardRun(parts: {
  browser?: Browser
  gateway?: GatewayProcess
  chain?: TestChain
  database?: TestDatabase
}): Promise<void> {
  await parts.browser?.close()
  parts.gateway?.child.kill('SIGTERM')
  await parts.gateway?.waitForExit().catch(() => {})
  await parts.chain?.stop()
  await parts.database?.drop()
}
