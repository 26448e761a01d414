import { join } from 'node:path'
import { createSluiceClient, type SluiceClient } from '@sluice/sdk/client'
import type { Browser, Page } from 'playwright-core'
import { getAddress } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listPayoutAudit } from '../../src/modules/payouts/payout.service.ts'
import { totpAt } from '../../src/modules/payouts/payout.totp.ts'
import type { TestChain } from '../setup/chain.ts'
import {
  addDashboardPerson,
  type DashboardPerson,
  dashboardNetworkName,
  earnFromPaidInvoice,
  holdLargePayoutsForApproval,
  issueTreasuryBotKey,
  launchBrowser,
  nowSeconds,
  prepareBrowserRun,
  screenshotDirectory,
  startGateway,
  startStoreBackend,
  stopDashboardRun,
} from '../setup/dashboard-fixture.ts'
import type { TestDatabase } from '../setup/database.ts'
import { testNetwork } from '../setup/e2e.ts'
import type { GatewayProcess } from '../setup/gateway-process.ts'

// Passkeys in a real browser against a real gateway, with Chrome's virtual authenticator (CTAP2, internal,
// resident keys, user verification): register a passkey after a password + TOTP sign-in, sign out, sign
// in with the passkey alone, and approve a payout a policy rule held with the passkey.
// WebAuthn refuses IP addresses as relying-party ids, so the browser opens http://localhost:<port>
// (a secure context), mapped to the gateway's 127.0.0.1 by a resolver rule.
const networkName = dashboardNetworkName
const password = 'passkeys e2e passphrase, only for tests'

let database: TestDatabase
let chain: TestChain
let gateway: GatewayProcess
let initiator: SluiceClient
let browser: Browser
let origin = ''
let operator: DashboardPerson
const challenges: string[] = []

beforeAll(async () => {
  prepareBrowserRun()
  const backend = await startStoreBackend({ storeName: 'Passkey Store', hotWalletUsdtMinor: 1_000_000_000n })
  database = backend.database
  chain = backend.chain
  const { store } = backend
  const initiatorKey = await issueTreasuryBotKey(database, store.merchant.id)
  operator = await addDashboardPerson(database, {
    merchantId: store.merchant.id,
    name: 'Grace Operator',
    login: 'grace',
    roles: ['approver', 'admin'],
    password,
  })
  gateway = await startGateway(database, {
    networks: [testNetwork(networkName, chain, chain.tokens.usdt, 6)],
  })
  origin = gateway.apiUrl.replace('127.0.0.1', 'localhost')
  const admin = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: store.apiKey.key })
  initiator = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: initiatorKey.key })
  // Payouts of 10 USDT or more wait for one approval; the store earns 100 USDT to pay out from.
  await holdLargePayoutsForApproval(database, admin, store.merchant.id)
  await earnFromPaidInvoice(admin, chain)
  browser = await launchBrowser(['--host-resolver-rules=MAP localhost 127.0.0.1'])
})

afterAll(async () => {
  await stopDashboardRun({ browser, gateway, chain, database })
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
