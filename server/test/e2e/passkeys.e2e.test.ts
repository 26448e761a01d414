import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createSluiceClient, type SluiceClient } from '@sluice/sdk/client'
import { type Browser, chromium, type Page } from 'playwright-core'
import { getAddress, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dashboardBuildDirectory } from '../../src/http/routes/dashboard.ts'
import { addDashboardUser } from '../../src/main/commands/users.ts'
import { createRawMasterKeyProvider } from '../../src/modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../../src/modules/keys/key.service.ts'
import { createMerchant, issueApiKey } from '../../src/modules/merchants/merchant.service.ts'
import { enrolApprover, listPayoutAudit } from '../../src/modules/payouts/payout.service.ts'
import { totpAt } from '../../src/modules/payouts/payout.totp.ts'
import {
  getGatewayHotWalletAddress,
  recordGasStationFunding,
} from '../../src/modules/sweeps/sweep.service.ts'
import { startTestChain, type TestChain } from '../setup/chain.ts'
import { createTestDatabase, type TestDatabase } from '../setup/database.ts'
import { testNetwork, until } from '../setup/e2e.ts'
import {
  type GatewayProcess,
  serverDirectory,
  spawnGateway,
  temporaryDataDir,
  waitUntilReady,
  writeConfigFile,
} from '../setup/gateway-process.ts'
import { testSecrets } from '../setup/leak-guard.ts'
import { importTestSanctionsList } from '../setup/sanctions.ts'

// Passkeys in a real browser against a real gateway, with Chrome's virtual authenticator (CTAP2, internal,
// resident keys, user verification): register a passkey after a password + TOTP sign-in, sign out, sign
// in with the passkey alone, and approve a payout a policy rule held with the passkey.
// WebAuthn refuses IP addresses as relying-party ids, so the browser opens http://localhost:<port>
// (a secure context), mapped to the gateway's 127.0.0.1 by a resolver rule.
const chromiumPath = '/usr/bin/chromium'
const screenshotDirectory = resolve(serverDirectory, '..', 'test-artifacts', 'screenshots')
const networkName = 'chain-a'
const password = 'passkeys e2e passphrase, only for tests'

let database: TestDatabase
let chain: TestChain
let gateway: GatewayProcess
let initiator: SluiceClient
let browser: Browser
let origin = ''
let operator = { approverId: '', totpSecret: '' }
const challenges: string[] = []

const nowSeconds = () => BigInt(Date.now()) / 1000n

function ensureWebBuilt(): void {
  if (existsSync(join(dashboardBuildDirectory, 'index.html'))) return
  const build = spawnSync('npm', ['run', 'build', '--workspace', 'web'], {
    cwd: resolve(serverDirectory, '..'),
    encoding: 'utf8',
  })
  if (build.status !== 0) throw new Error(`web build failed:\n${build.stdout}\n${build.stderr}`)
}

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: apt-get install -y chromium`)
  ensureWebBuilt()
  mkdirSync(screenshotDirectory, { recursive: true })
  database = await createTestDatabase()
  chain = await startTestChain(31_337)
  const provider = createRawMasterKeyProvider(Buffer.from(testSecrets.masterKeyHex, 'hex'))
  await initKeys(database.pool, provider)
  const store = await createMerchant(database.pool, { name: 'Passkey Store' })
  await exportAccountXpub(database.pool, provider, store.merchant.id)
  await importTestSanctionsList(database.pool)
  const initiatorKey = await issueApiKey(database.pool, {
    merchantId: store.merchant.id,
    label: 'treasury bot',
    scopes: ['payouts:write', 'payouts:read'],
  })
  const hotWallet = await getGatewayHotWalletAddress(database.pool, provider)
  const gas = 10n * 10n ** 18n
  await chain.rpc('anvil_setBalance', [hotWallet, `0x${gas.toString(16)}`])
  await recordGasStationFunding(database.pool, networkName, gas, 'devnet-initial')
  await chain.mint(chain.tokens.usdt, hotWallet, 1_000_000_000n)
  operator = await addDashboardUser(database.pool, {
    merchantId: store.merchant.id,
    name: 'Grace Operator',
    login: 'grace',
    roles: ['approver', 'admin'],
    password,
  })
  const dataDir = temporaryDataDir()
  const configPath = writeConfigFile(dataDir, {
    networks: [testNetwork(networkName, chain, chain.tokens.usdt, 6)],
  })
  gateway = await spawnGateway('all-in-one', {
    dataDir,
    env: { DATABASE_URL: database.url, SLUICE_CONFIG: configPath, SLUICE_LOG_LEVEL: 'info' },
  })
  await waitUntilReady(gateway)
  origin = gateway.apiUrl.replace('127.0.0.1', 'localhost')
  const admin = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: store.apiKey.key })
  initiator = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: initiatorKey.key })

  // Payouts of 10 USDT or more wait for one approval; a second person activates that policy.
  const checker = await enrolApprover(database.pool, {
    merchantId: store.merchant.id,
    name: 'Checker',
    roles: ['approver'],
  })
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
  const invoice = await admin.createInvoice({ body: { amount: '100', currency: 'USDT' } })
  await chain.pay(chain.tokens.usdt, 1, invoice.payment_options[0]?.address as Hex, 100_000_000n)
  await chain.mine(3)
  await until(
    () => admin.getInvoice({ params: { id: invoice.id } }),
    (current) => current.status === 'settled',
  )
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
      '--host-resolver-rules=MAP localhost 127.0.0.1',
    ],
  })
})

afterAll(async () => {
  await browser?.close()
  gateway?.child.kill('SIGTERM')
  await gateway?.waitForExit().catch(() => {})
  await chain?.stop()
  await database?.drop()
})

/** Collects every challenge the gateway hands out, to check none reaches its logs. */
function recordChallenges(page: Page): void {
  page.on('response', async (response) => {
    if (!/options$/.test(new URL(response.url()).pathname) || response.status() !== 200) return
    const body = (await response.json().catch(() => ({}))) as { challenge?: string }
    if (body.challenge !== undefined) challenges.push(body.challenge)
  })
}

describe('passkeys in the dashboard', () => {
  it('registers a passkey, signs in with it alone, and approves a held payout with it', async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (error) => pageErrors.push(error.message))
    recordChallenges(page)
    const cdp = await page.context().newCDPSession(page)
    await cdp.send('WebAuthn.enable')
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    })

    // 1. Password + TOTP, then register a passkey in the Passkeys section.
    await page.goto(`${origin}/dashboard`)
    await page.getByLabel('Login').fill('grace')
    await page.getByLabel('Password').fill(password)
    await page.getByLabel('One-time code (TOTP)').fill(totpAt(operator.totpSecret, nowSeconds()))
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await expect.poll(() => page.locator('.who').textContent()).toContain('Passkey Store')
    await page.getByRole('button', { name: 'Passkeys' }).click()
    await page.getByLabel('Name of the new passkey').fill('virtual laptop')
    await page.getByRole('button', { name: 'Add a passkey' }).click()
    await expect.poll(() => page.getByTestId('passkeys').textContent()).toContain('virtual laptop')
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
    expect(credentials).toHaveLength(1)
    expect(credentials[0]?.isResidentCredential).toBe(true)
    await page.screenshot({ path: join(screenshotDirectory, 'dashboard-passkeys.png'), fullPage: true })

    // 2. Sign out, then sign in with the passkey: no login, password or code.
    await page.getByRole('button', { name: 'Sign out' }).click()
    await expect.poll(() => page.getByRole('button', { name: 'Use a passkey instead' }).count()).toBe(1)
    await page.getByRole('button', { name: 'Use a passkey instead' }).click()
    await expect.poll(() => page.locator('.who').textContent()).toContain('Passkey Store')
    const signCount = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0]
      ?.signCount
    expect(signCount).toBeGreaterThan(0)

    // 3. A payout a policy rule held, approved with the passkey (a fresh assertion bound to it).
    const held = await initiator.createPayout({
      body: {
        network: networkName,
        asset: 'USDT',
        destination: getAddress(chain.account(6).address),
        amount: '25',
      },
    })
    expect(held).toMatchObject({ status: 'pending_approval', decision: { rule_id: 'large-payouts' } })
    await page.getByRole('button', { name: 'Payouts' }).click()
    const card = page.locator(`li[data-payout="${held.id}"]`)
    await expect.poll(() => card.getByTestId('payout-rule').textContent()).toContain('rule “large-payouts”')
    await page.screenshot({
      path: join(screenshotDirectory, 'dashboard-passkey-approval.png'),
      fullPage: true,
    })
    await card.getByRole('button', { name: 'Approve with passkey' }).click()
    await expect.poll(() => page.locator(`li[data-payout="${held.id}"]`).count()).toBe(0)
    const approved = await initiator.getPayout({ params: { id: held.id } })
    expect(['queued', 'broadcast', 'confirmed', 'finalized']).toContain(approved.status)
    const audit = await listPayoutAudit(database.pool, held.id)
    expect(audit.find((entry) => entry.action === 'payout.approve')).toMatchObject({
      actor: operator.approverId,
      detail: { second_factor: 'passkey' },
    })
    expect(pageErrors).toEqual([])
    await context.close()
  })

  it('never writes a challenge or the password to its logs', async () => {
    expect(challenges.length).toBeGreaterThanOrEqual(3)
    const output = `${gateway.output()}\n${gateway.errors()}`
    for (const secret of [password, operator.totpSecret, ...challenges]) expect(output).not.toContain(secret)
  })
})
