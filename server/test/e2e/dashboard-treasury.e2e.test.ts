import { join } from 'node:path'
import type { TreasuryProposalWire } from '@sluice/sdk/api/treasury'
import { createSluiceClient, type SluiceClient } from '@sluice/sdk/client'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { totpAt } from '../../src/modules/payouts/payout.totp.ts'
import type { TestChain } from '../setup/chain.ts'
import {
  addDashboardPerson,
  createStore,
  type DashboardPerson,
  dashboardNetworkName,
  freshCode,
  launchBrowser,
  nowSeconds,
  prepareBrowserRun,
  screenshotDirectory,
  startGateway,
  startStoreBackend,
  stopDashboardRun,
} from '../setup/dashboard-fixture.ts'
import type { TestDatabase } from '../setup/database.ts'
import { testNetwork, until } from '../setup/e2e.ts'
import type { GatewayProcess } from '../setup/gateway-process.ts'

// The dashboard's Treasury page in a real browser, against a real gateway (API + workers), anvil and
// PostgreSQL (docs/adr/0016 decision 6, docs/adr/0026). The hot wallet holds 1000.5 USDT over a 500 USDT
// ceiling and no USDC under a 50 USDC floor, so the treasury check proposes a sweep of 500.5 USDT to cold
// and a top-up of 50 USDC from cold. The operator store's treasurer approves the sweep with a TOTP code
// (keyboard only) and sees it approved, sent and completed; rejects the top-up (the only decision a
// top-up has here) and sees the next check propose it again without a reload. Another store's admin sees
// no Treasury entry, its address opens the overview, and the API answers its session 403.
const networkName = dashboardNetworkName
const password = 'treasury e2e passphrase, only for tests'

let database: TestDatabase
let chain: TestChain
let gateway: GatewayProcess
let operatorApi: SluiceClient
let browser: Browser
let coldAddress = ''
let treasurer: DashboardPerson
let seller: DashboardPerson

beforeAll(async () => {
  prepareBrowserRun()
  const backend = await startStoreBackend({ storeName: 'Operator Store', hotWalletUsdtMinor: 1_000_500_000n })
  database = backend.database
  chain = backend.chain
  const operatorStore = backend.store
  const otherStore = await createStore(database, backend.provider, 'Marketplace Seller')
  coldAddress = chain.account(9).address.toLowerCase()
  treasurer = await addDashboardPerson(database, {
    merchantId: operatorStore.merchant.id,
    name: 'tess',
    login: 'tess',
    roles: ['treasurer'],
    password,
  })
  seller = await addDashboardPerson(database, {
    merchantId: otherStore.merchant.id,
    name: 'sam',
    login: 'sam',
    roles: ['admin', 'treasurer'],
    password,
  })
  gateway = await startGateway(database, {
    operatorStores: [operatorStore.merchant.id],
    networks: [
      {
        ...testNetwork(networkName, chain, chain.tokens.usdt, 6),
        tokens: [
          { symbol: 'USDT', contractAddress: chain.tokens.usdt, decimals: 6 },
          { symbol: 'USDC', contractAddress: chain.tokens.usdc, decimals: 6 },
        ],
        treasury: {
          coldAddress,
          hotWallet: {
            USDT: { floorMinor: '100000000', ceilingMinor: '500000000' },
            USDC: { floorMinor: '50000000', ceilingMinor: '900000000' },
          },
        },
      },
    ],
  })
  operatorApi = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: operatorStore.apiKey.key })
  // The treasury check runs when the worker starts (then every minute): both proposals are open.
  await until(
    async () => (await operatorApi.listTreasuryProposals({ query: { status: 'open' } })).data,
    (open) => open.length === 2,
  )
  browser = await launchBrowser()
})

afterAll(async () => {
  await stopDashboardRun({ browser, gateway, chain, database })
})

async function signIn(page: Page, person: DashboardPerson, path = '/dashboard') {
  await page.goto(`${gateway.apiUrl}${path}`)
  await page.getByLabel('Login').fill(person.login)
  await page.getByLabel('Password').fill(password)
  await page.getByLabel('One-time code (TOTP)').fill(await freshCode(person))
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect.poll(() => page.locator('.who').textContent()).toContain(person.login)
}

async function openProposal(kind: TreasuryProposalWire['kind']): Promise<TreasuryProposalWire> {
  const open = await operatorApi.listTreasuryProposals({ query: { status: 'open' } })
  const found = open.data.find((proposal) => proposal.kind === kind)
  if (found === undefined) throw new Error(`no open ${kind}`)
  return found
}

describe('treasury page of the operator dashboard', () => {
  it('shows the wallets against their band, and a treasurer approves a sweep to cold with TOTP', async () => {
    const sweep = await openProposal('sweep_to_cold')
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (error) => pageErrors.push(error.message))
    await signIn(page, treasurer)
    await page.getByRole('button', { name: 'Treasury' }).click()
    await expect.poll(() => new URL(page.url()).hash).toBe('#treasury')

    const usdt = page.locator(`[data-testid="treasury-balances"] tr[data-asset="USDT@${networkName}"]`)
    await expect.poll(() => usdt.getByTestId('hot').textContent()).toBe('1000.5 USDT')
    expect(await usdt.textContent()).toContain('500 USDT')
    expect(await usdt.getByTestId('band').textContent()).toBe('Above ceiling')
    expect(await usdt.getByTestId('cold').textContent()).toBe('0 USDT')
    const usdc = page.locator(`[data-testid="treasury-balances"] tr[data-asset="USDC@${networkName}"]`)
    expect(await usdc.getByTestId('band').textContent()).toBe('Below floor')

    const card = page.locator(`li[data-proposal="${sweep.id}"]`)
    await expect.poll(() => card.textContent()).toContain('Sweep to cold: 500.5 USDT')
    expect(await card.textContent()).toContain(`revision ${sweep.revision}`)
    await page.screenshot({ path: join(screenshotDirectory, 'dashboard-treasury.png'), fullPage: true })

    // Keyboard only: the code, then Tab to "Approve sweep" and Enter.
    await card.getByLabel('One-time code (TOTP)').fill(await freshCode(treasurer))
    await card.getByLabel('One-time code (TOTP)').press('Tab')
    await page.keyboard.press('Enter')
    await expect.poll(() => page.locator(`li[data-proposal="${sweep.id}"]`).count()).toBe(0)
    const row = page.locator(`[data-testid="treasury-proposals"] tr[data-proposal="${sweep.id}"]`)
    await expect.poll(() => row.getAttribute('data-status')).not.toBe('open')
    expect(await row.textContent()).toContain('you')
    const decided = await operatorApi.listTreasuryProposals({ query: {} })
    expect(decided.data.find((proposal) => proposal.id === sweep.id)).toMatchObject({
      decided_by: treasurer.approverId,
    })

    // The worker signs and sends it (every 10 s); the page follows while it is in flight.
    await expect
      .poll(() => row.getAttribute('data-status'), { timeout: 60_000 })
      .toMatch(/^(sent|completed)$/)
    await chain.mine(3)
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 60_000 }).toBe('completed')
    expect(await row.getByTestId('status').textContent()).toBe('Completed')
    expect(await row.textContent()).toMatch(/0x[0-9a-f]{8}/)
    // The next check (every minute) reads the cold wallet; a reload opens the page again (its address).
    await expect
      .poll(
        async () => {
          await page.reload()
          return await usdt.getByTestId('cold').textContent()
        },
        { timeout: 90_000, interval: 5_000 },
      )
      .toBe('500.5 USDT')

    // Phone width: nothing wider than the screen (tables scroll in their own box).
    await page.setViewportSize({ width: 390, height: 844 })
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390)
    await page.screenshot({ path: join(screenshotDirectory, 'dashboard-treasury-phone.png'), fullPage: true })
    expect(pageErrors).toEqual([])
    await context.close()
  })

  it('rejects a top-up from cold (no approve: it is done offline), and the next proposal arrives live', async () => {
    const topUp = await openProposal('topup_from_cold')
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    await signIn(page, treasurer, '/dashboard#treasury')
    const card = page.locator(`li[data-proposal="${topUp.id}"]`)
    await expect
      .poll(() => card.getByTestId('topup-offline').textContent())
      .toContain('offline with the cold key')
    expect(await card.textContent()).toContain('Top-up from cold: 50 USDC')
    expect(await card.getByRole('button', { name: 'Approve sweep' }).count()).toBe(0)

    const wrong = totpAt(treasurer.totpSecret, nowSeconds()) === '000000' ? '111111' : '000000'
    await card.getByLabel('One-time code (TOTP)').fill(wrong)
    await card.getByRole('button', { name: 'Reject' }).click()
    await expect.poll(() => card.getByRole('alert').textContent()).toContain('wrong')
    await card.getByLabel('One-time code (TOTP)').fill(await freshCode(treasurer))
    await card.getByRole('button', { name: 'Reject' }).click()
    await expect.poll(() => page.locator(`li[data-proposal="${topUp.id}"]`).count()).toBe(0)
    const row = page.locator(`[data-testid="treasury-proposals"] tr[data-proposal="${topUp.id}"]`)
    await expect.poll(() => row.getAttribute('data-status')).toBe('rejected')
    expect(await row.textContent()).toContain('Rejected')

    // The hot wallet is still under its floor: the next check (within a minute) proposes a top-up again,
    // with the event treasury.topup_requested on the operator store's stream; the page shows it unreloaded.
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('Live')
    const again = page.locator('[data-testid="treasury-open"] li[data-kind="topup_from_cold"]')
    await expect.poll(() => again.count(), { timeout: 90_000 }).toBe(1)
    expect(await again.getAttribute('data-proposal')).not.toBe(topUp.id)
    await context.close()
  })

  it('shows another store nothing of the treasury: no entry, its address opens the overview, API 403', async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    const treasuryCalls: string[] = []
    page.on('request', (request) => {
      if (request.url().includes('/v1/treasury')) treasuryCalls.push(request.url())
    })
    await signIn(page, seller, '/dashboard#treasury')
    await expect.poll(() => page.getByRole('heading', { name: 'Balances' }).count()).toBe(1)
    expect(await page.getByRole('navigation').getByRole('button', { name: 'Treasury' }).count()).toBe(0)
    await expect.poll(() => new URL(page.url()).hash).toBe('#overview')
    const text = (await page.locator('body').textContent()) ?? ''
    for (const treasuryWord of ['Hot and cold wallets', 'Open proposals', 'Hot wallet on chain'])
      expect(text).not.toContain(treasuryWord)
    // Typing the address again does not open it either.
    await page.evaluate('location.hash = "#treasury"')
    await expect.poll(() => new URL(page.url()).hash).toBe('#overview')
    expect(await page.getByRole('heading', { name: 'Hot and cold wallets' }).count()).toBe(0)
    expect(treasuryCalls).toEqual([])

    // The server refuses the session whatever its roles (admin + treasurer), as it refuses its keys.
    const answer = (await page.evaluate(`
      fetch('/v1/treasury/proposals', { headers: { 'x-sluice-client': 'dashboard' } })
        .then(async (response) => ({ status: response.status, body: await response.json() }))
    `)) as { status: number; body: { code: string } }
    expect(answer).toMatchObject({ status: 403, body: { code: 'treasury-operator-only' } })
    await page.screenshot({ path: join(screenshotDirectory, 'dashboard-treasury-other-store.png') })
    await context.close()
  })

  it('never writes a password or TOTP secret to its logs', async () => {
    const output = `${gateway.output()}\n${gateway.errors()}`
    for (const secret of [password, treasurer.totpSecret, seller.totpSecret])
      expect(output).not.toContain(secret)
  })
})
