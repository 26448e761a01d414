import { join } from 'node:path'
import type { InvoiceWire } from '@sluice/sdk/api/invoices'
import { createSluiceClient, type SluiceClient } from '@sluice/sdk/client'
import type { Browser, Page } from 'playwright-core'
import { getAddress, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { totpAt } from '../../src/modules/payouts/payout.totp.ts'
import type { TestChain } from '../setup/chain.ts'
import {
  addDashboardPerson,
  type DashboardPerson,
  dashboardNetworkName,
  earnFromPaidInvoice,
  freshCode,
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

// The operator dashboard in a real browser, against a real gateway (API + workers), anvil and PostgreSQL:
// sign in with password + TOTP, see balances and network health, approve a payout that a policy rule
// held (second factor again), and watch a checkout turn paid by server-sent events, without a reload.
const networkName = dashboardNetworkName
const password = 'dashboard e2e passphrase, only for tests'

let database: TestDatabase
let chain: TestChain
let gateway: GatewayProcess
let admin: SluiceClient
let initiator: SluiceClient
let browser: Browser
let operator: DashboardPerson
const seenTokens: string[] = []

/** The code of the step the operator used last (refused: a step is good once). */
const lastCode = () => totpAt(operator.totpSecret, operator.lastStep * 30n)

beforeAll(async () => {
  prepareBrowserRun()
  const backend = await startStoreBackend({
    storeName: 'Dashboard Store',
    hotWalletUsdtMinor: 1_000_000_000n,
  })
  database = backend.database
  chain = backend.chain
  const { store } = backend
  const initiatorKey = await issueTreasuryBotKey(database, store.merchant.id)
  operator = await addDashboardPerson(database, {
    merchantId: store.merchant.id,
    name: 'Ada Operator',
    login: 'ada',
    roles: ['approver', 'admin'],
    password,
  })
  gateway = await startGateway(database, {
    // The store acts for the operator, so its people see the hot wallet on chain (docs/adr/0026).
    operatorStores: [store.merchant.id],
    networks: [testNetwork(networkName, chain, chain.tokens.usdt, 6)],
  })
  admin = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: store.apiKey.key })
  initiator = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: initiatorKey.key })
  // Payouts of 10 USDT or more wait for one approval; the store earns 100 USDT to pay out from.
  await holdLargePayoutsForApproval(database, admin, store.merchant.id)
  await earnFromPaidInvoice(admin, chain)
  browser = await launchBrowser()
})

afterAll(async () => {
  await stopDashboardRun({ browser, gateway, chain, database })
})

async function signIn(page: Page, code: string) {
  await page.goto(`${gateway.apiUrl}/dashboard`)
  await page.getByLabel('Login').fill('ada')
  await page.getByLabel('Password').fill(password)
  await page.getByLabel('One-time code (TOTP)').fill(code)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

function option(invoice: InvoiceWire) {
  const found = invoice.payment_options[0]
  if (found === undefined) throw new Error('no payment option')
  return found
}

describe('operator dashboard in a browser', () => {
  it('refuses a wrong code, signs in with password + TOTP, and shows balances and network health', async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } })
    const foreign: string[] = []
    context.on('request', (request) => {
      if (!request.url().startsWith(gateway.apiUrl)) foreign.push(request.url())
    })
    const page = await context.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (error) => pageErrors.push(error.message))
    const response = await page.goto(`${gateway.apiUrl}/dashboard`)
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'")

    const wrong = totpAt(operator.totpSecret, nowSeconds()) === '000000' ? '111111' : '000000'
    await signIn(page, wrong)
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('wrong')
    await page.getByLabel('One-time code (TOTP)').fill(await freshCode(operator))
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.locator('.who').textContent()).toContain('Dashboard Store')

    const [cookie] = await context.cookies()
    expect(cookie).toMatchObject({ name: 'sluice_session', httpOnly: true, sameSite: 'Strict' })
    seenTokens.push(cookie?.value ?? '')
    // The token lives in the HttpOnly cookie only: scripts cannot read it.
    expect(await page.evaluate('document.cookie')).toBe('')

    await expect
      .poll(() => page.locator(`[data-asset="USDT@${networkName}"] [data-testid="available"]`).textContent())
      .toBe('100')
    // Beside the ledger, the hot wallet's balance read on chain (its address recorded by the worker).
    await expect
      .poll(() => page.locator(`[data-asset="USDT@${networkName}"] [data-testid="on-chain"]`).textContent())
      .toMatch(/^\d+(\.\d+)?$/)
    await expect
      .poll(() => page.locator(`[data-network="${networkName}"]`).textContent(), { timeout: 30_000 })
      .toContain('Healthy')
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('Live')
    await page.screenshot({ path: join(screenshotDirectory, 'dashboard-overview.png'), fullPage: true })
    expect(pageErrors).toEqual([])
    expect(foreign).toEqual([])
    await context.close()
  })

  it('approves a payout a policy rule held, with a second factor, showing the rule', async () => {
    const destination = getAddress(chain.account(5).address)
    const held = await initiator.createPayout({
      body: { network: networkName, asset: 'USDT', destination, amount: '40' },
    })
    expect(held).toMatchObject({ status: 'pending_approval', decision: { rule_id: 'large-payouts' } })

    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    await signIn(page, await freshCode(operator))
    await page.getByRole('button', { name: 'Payouts' }).click()
    const card = page.locator(`li[data-payout="${held.id}"]`)
    await expect.poll(() => card.getByTestId('payout-rule').textContent()).toContain('rule “large-payouts”')
    await page.screenshot({ path: join(screenshotDirectory, 'dashboard-approval-queue.png'), fullPage: true })

    // The sign-in code's step is used: the same code cannot approve (a code is good once).
    await card.getByLabel('One-time code (TOTP)').fill(lastCode())
    await card.getByRole('button', { name: 'Approve' }).click()
    await expect.poll(() => card.getByRole('alert').textContent()).toContain('already used')

    await card.getByLabel('One-time code (TOTP)').fill(await freshCode(operator))
    await card.getByRole('button', { name: 'Approve' }).click()
    await expect.poll(() => page.locator(`li[data-payout="${held.id}"]`).count()).toBe(0)
    const approved = await initiator.getPayout({ params: { id: held.id } })
    expect(['queued', 'broadcast', 'confirmed', 'finalized']).toContain(approved.status)
    await expect
      .poll(
        () =>
          page.locator(`[data-testid="payouts"] tr[data-payout="${held.id}"]`).getAttribute('data-status'),
        {
          timeout: 30_000,
        },
      )
      .not.toBe('pending_approval')
    await page.screenshot({ path: join(screenshotDirectory, 'dashboard-payouts.png'), fullPage: true })

    // Phone width: nothing wider than the screen (tables scroll in their own box).
    await page.setViewportSize({ width: 390, height: 844 })
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390)
    await page.getByRole('button', { name: 'Overview' }).click()
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390)
    await page.screenshot({ path: join(screenshotDirectory, 'dashboard-phone.png'), fullPage: true })
    seenTokens.push((await context.cookies())[0]?.value ?? '')
    await context.close()
  })

  it('turns a checkout paid by server-sent events, and the dashboard follows without a reload', async () => {
    const invoice = await admin.createInvoice({ body: { amount: '7', currency: 'USDT' } })
    const context = await browser.newContext({ locale: 'en-US' })
    const checkout = await context.newPage()
    const invoiceReads: string[] = []
    checkout.on('request', (request) => {
      if (request.url().endsWith(`/v1/public/invoices/${invoice.id}`)) invoiceReads.push(request.url())
    })
    const streamOpened = checkout.waitForRequest((request) =>
      request.url().endsWith(`/invoices/${invoice.id}/stream`),
    )
    await checkout.goto(`${gateway.apiUrl}/pay/${invoice.id}`)
    await streamOpened
    await expect.poll(() => checkout.getByRole('status').getAttribute('data-phase')).toBe('waiting')
    // The fee hint: an estimate on the only network.
    await expect.poll(() => checkout.getByTestId(`fee-${networkName}`).textContent()).toContain('final in')

    const dashboard = await context.newPage()
    await signIn(dashboard, await freshCode(operator))
    await dashboard.getByRole('button', { name: 'Invoices' }).click()
    const row = dashboard.locator(`tr[data-invoice="${invoice.id}"]`)
    await expect.poll(() => row.getAttribute('data-status')).toBe('new')

    await chain.pay(chain.tokens.usdt, 2, option(invoice).address as Hex, 7_000_000n)
    await chain.mine(3)
    await expect
      .poll(() => checkout.getByRole('status').getAttribute('data-phase'), { timeout: 90_000 })
      .toBe('settled')
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('settled')
    // One read at load; every change after came down the stream (no 2 s polling any more).
    expect(invoiceReads.length).toBe(1)
    await checkout.screenshot({
      path: join(screenshotDirectory, 'checkout-settled-by-sse.png'),
      fullPage: true,
    })
    await dashboard.screenshot({ path: join(screenshotDirectory, 'dashboard-invoices.png'), fullPage: true })
    seenTokens.push((await context.cookies()).find((cookie) => cookie.name === 'sluice_session')?.value ?? '')
    await context.close()
  })

  it('creates an API key shown once, revokes it, proposes a policy and engages the panic switch', async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    await signIn(page, await freshCode(operator))
    await page.getByRole('button', { name: 'API keys' }).click()
    await page.getByLabel('Label').fill('reporting')
    await page.getByRole('checkbox', { name: 'invoices:read' }).check()
    await page.getByRole('button', { name: 'Create', exact: true }).click()
    const key = (await page.getByTestId('new-key').textContent()) ?? ''
    expect(key).toMatch(/^sk_/)
    const reporting = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: key })
    expect((await reporting.listInvoices({})).data.length).toBeGreaterThan(0)
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(1280)
    await page.screenshot({ path: join(screenshotDirectory, 'dashboard-api-keys.png'), fullPage: true })
    await page.getByRole('button', { name: 'Done' }).click()
    await page
      .locator('[data-testid="api-keys"] tr', { hasText: 'reporting' })
      .getByRole('button', { name: 'Revoke' })
      .click()
    await expect
      .poll(
        async () =>
          await reporting.listInvoices({}).then(
            () => 'ok',
            (error: { code?: string }) => error.code,
          ),
      )
      .toBe('api-key-invalid')

    await page.getByRole('button', { name: 'Policy' }).click()
    await expect.poll(() => page.getByTestId('active-policy').textContent()).toContain('large-payouts')
    await page.getByRole('button', { name: 'Propose' }).click()
    await expect.poll(() => page.getByRole('status').last().textContent()).toContain('Version 2 proposed')

    await page.getByRole('button', { name: 'Overview' }).click()
    await page.getByLabel('Reason').fill('drill')
    await page.getByRole('button', { name: 'Engage panic switch' }).click()
    await expect.poll(() => page.getByTestId('panic-state').textContent()).toContain('Engaged')
    await page.screenshot({ path: join(screenshotDirectory, 'dashboard-panic.png'), fullPage: true })
    await page.getByRole('button', { name: 'Release panic switch' }).click()
    await expect.poll(() => page.getByTestId('panic-state').textContent()).toContain('Off')
    seenTokens.push((await context.cookies())[0]?.value ?? '')
    await context.close()
  })

  it('signs out: the cookie is cleared and the old token no longer works', async () => {
    const context = await browser.newContext({ locale: 'fr-FR' })
    const page = await context.newPage()
    await page.goto(`${gateway.apiUrl}/dashboard`)
    await page.getByLabel('Identifiant').fill('ada')
    await page.getByLabel('Mot de passe').fill(password)
    await page.getByLabel('Code à usage unique (TOTP)').fill(await freshCode(operator))
    await page.getByRole('button', { name: 'Se connecter' }).click()
    await expect.poll(() => page.locator('.who').textContent()).toContain('Dashboard Store')
    const token = (await context.cookies())[0]?.value ?? ''
    seenTokens.push(token)
    await page.getByRole('button', { name: 'Se déconnecter' }).click()
    await expect.poll(() => page.getByRole('button', { name: 'Se connecter' }).count()).toBe(1)
    const stale = await fetch(`${gateway.apiUrl}/v1/dashboard/session`, {
      headers: { cookie: `sluice_session=${token}`, 'x-sluice-client': 'dashboard' },
    })
    expect(stale.status).toBe(401)
    expect(((await stale.json()) as { code: string }).code).toBe('session-invalid')
    await context.close()
  })

  it('never writes the password, the TOTP secret or a session token to its logs', async () => {
    const output = `${gateway.output()}\n${gateway.errors()}`
    expect(output.length).toBeGreaterThan(0)
    for (const secret of [password, operator.totpSecret, ...seenTokens.filter((token) => token !== '')])
      expect(output).not.toContain(secret)
  })
})
