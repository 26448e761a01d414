import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { InvoiceWire } from '@sluice/sdk/api/invoices'
import { createSluiceClient, type SluiceClient } from '@sluice/sdk/client'
import { type Browser, chromium } from 'playwright-core'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkoutBuildDirectory } from '../../src/http/routes/checkout.ts'
import { createRawMasterKeyProvider } from '../../src/modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../../src/modules/keys/key.service.ts'
import { createMerchant } from '../../src/modules/merchants/merchant.service.ts'
import { startTestChain, type TestChain } from '../setup/chain.ts'
import { createTestDatabase, type TestDatabase } from '../setup/database.ts'
import { testNetwork } from '../setup/e2e.ts'
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

// The hosted checkout in a real browser: a real gateway (API + workers), two anvil chains, Debian's
// chromium driven by playwright-core. The buyer's view must follow the chain without a reload.
const chromiumPath = '/usr/bin/chromium'
const screenshotDirectory = resolve(serverDirectory, '..', 'test-artifacts', 'screenshots')

let database: TestDatabase
let chainA: TestChain
let chainB: TestChain
let gateway: GatewayProcess
let client: SluiceClient
let browser: Browser

function option(invoice: InvoiceWire, name: string) {
  const found = invoice.payment_options.find((candidate) => candidate.network === name)
  if (found === undefined) throw new Error(`no option on ${name}`)
  return found
}

/** The page is built by `npm run build --workspace web`; a fresh clone has not run it yet. */
function ensureCheckoutBuilt(): void {
  if (existsSync(join(checkoutBuildDirectory, 'index.html'))) return
  const build = spawnSync('npm', ['run', 'build', '--workspace', 'web'], {
    cwd: resolve(serverDirectory, '..'),
    encoding: 'utf8',
  })
  if (build.status !== 0) throw new Error(`web build failed:\n${build.stdout}\n${build.stderr}`)
}

beforeAll(async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `${chromiumPath} is missing: install Debian's browser with \`apt-get install -y chromium\``,
    )
  }
  ensureCheckoutBuilt()
  mkdirSync(screenshotDirectory, { recursive: true })
  database = await createTestDatabase()
  chainA = await startTestChain(31_337)
  chainB = await startTestChain(31_338)
  const provider = createRawMasterKeyProvider(Buffer.from(testSecrets.masterKeyHex, 'hex'))
  await initKeys(database.pool, provider)
  const store = await createMerchant(database.pool, { name: 'Checkout Store' })
  await exportAccountXpub(database.pool, provider, store.merchant.id)
  // Payments are screened before they count: without a list, none would be credited.
  await importTestSanctionsList(database.pool)
  const dataDir = temporaryDataDir()
  const configPath = writeConfigFile(dataDir, {
    networks: [
      // An explorer on chain A only: its payments link out (a link the page never loads), chain B's do not.
      { ...testNetwork('chain-a', chainA, chainA.tokens.usdt, 6), explorerUrl: 'https://explorer.example' },
      testNetwork('chain-b', chainB, chainB.tokens.bscUsd, 18),
    ],
  })
  gateway = await spawnGateway('all-in-one', {
    dataDir,
    env: { DATABASE_URL: database.url, SLUICE_CONFIG: configPath, SLUICE_LOG_LEVEL: 'warn' },
  })
  await waitUntilReady(gateway)
  client = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: store.apiKey.key })
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
})

afterAll(async () => {
  await browser?.close()
  gateway?.child.kill('SIGTERM')
  await gateway?.waitForExit().catch(() => {})
  await chainA?.stop()
  await chainB?.stop()
  await database?.drop()
})

describe('hosted checkout in a browser', () => {
  it('serves the page and its assets with their content types', async () => {
    const page = await fetch(`${gateway.apiUrl}/pay/inv_doesnotmatter`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await page.text()
    const script = /src="(\/assets\/checkout\/[^"]+\.js)"/.exec(html)?.[1]
    const style = /href="(\/assets\/checkout\/[^"]+\.css)"/.exec(html)?.[1]
    expect((await fetch(`${gateway.apiUrl}${script}`)).headers.get('content-type')).toMatch(
      /^text\/javascript/,
    )
    expect((await fetch(`${gateway.apiUrl}${style}`)).headers.get('content-type')).toMatch(/^text\/css/)
    expect((await fetch(`${gateway.apiUrl}/assets/checkout/..%2Fpackage.json`)).status).toBe(404)
  })

  it('shows what to pay, follows the payment live, and speaks the chosen language', async () => {
    const invoice = await client.createInvoice({
      body: { amount: '12.5', currency: 'USDT', redirect_url: 'https://shop.example/thanks' },
    })
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } })
    // No request may leave the gateway's origin (no CDN, no fonts, no analytics).
    const foreign: string[] = []
    context.on('request', (request) => {
      if (!request.url().startsWith(gateway.apiUrl)) foreign.push(request.url())
    })
    const page = await context.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (error) => pageErrors.push(error.message))
    await page.goto(`${gateway.apiUrl}/pay/${invoice.id}`)

    await expect.poll(() => page.getByTestId('amount').textContent()).toBe('12.5 USDT')
    expect(await page.getByRole('radio').count()).toBe(2)
    expect(await page.getByRole('radio', { name: /chain-a/ }).isChecked()).toBe(true)
    await expect
      .poll(() => page.locator('.qr img').evaluate((image: { naturalWidth: number }) => image.naturalWidth))
      .toBeGreaterThan(0)
    expect(await page.getByTestId('pay-address').textContent()).toBe(option(invoice, 'chain-a').address)
    expect(await page.getByTestId('pay-amount').textContent()).toBe('12.5 USDT')
    expect(await page.getByTestId('countdown').textContent()).toMatch(/^\d+:\d\d(:\d\d)?$/)
    await page.screenshot({ path: join(screenshotDirectory, 'checkout-desktop.png'), fullPage: true })

    // Keyboard: the radios are a native group, so an arrow key moves to the next network.
    await page.getByRole('radio', { name: /chain-a/ }).focus()
    await page.keyboard.press('ArrowRight')
    expect(await page.getByRole('radio', { name: /chain-b/ }).isChecked()).toBe(true)
    expect(await page.getByTestId('pay-address').textContent()).toBe(option(invoice, 'chain-b').address)
    expect(await page.locator('.qr img').getAttribute('src')).toContain('network=chain-b')

    await page.getByRole('combobox').selectOption('fr')
    await expect.poll(() => page.getByRole('status').textContent()).toContain('En attente du paiement')
    // Set by an effect after the render that shows the text: polled, not read once.
    await expect.poll(() => page.evaluate('document.documentElement.lang')).toBe('fr')

    // Pay 4 of 12.5 on chain A: the page shows the partial payment and what remains.
    await chainA.pay(chainA.tokens.usdt, 1, option(invoice, 'chain-a').address as Hex, 4_000_000n)
    // The invoice counts a payment toward its total once it is final (3 confirmations here).
    await chainA.mine(3)
    await expect
      .poll(() => page.getByRole('status').textContent(), { timeout: 60_000 })
      .toContain('Reste à payer : 8.5 USDT')
    expect(await page.locator('[data-payment-status="finalized"]').textContent()).toContain('Finalisé')

    // The rest on chain B (18 decimals), then finality on both: settled, without a reload.
    await chainB.pay(chainB.tokens.bscUsd, 1, option(invoice, 'chain-b').address as Hex, 85n * 10n ** 17n)
    await chainB.mine(3)
    await expect
      .poll(() => page.getByRole('status').getAttribute('data-phase'), { timeout: 90_000 })
      .toBe('settled')
    expect(await page.getByRole('status').textContent()).toContain('Payé')
    expect(await page.locator('[data-payment-status="finalized"]').count()).toBe(2)
    expect(await page.getByRole('link', { name: 'Retour au marchand' }).getAttribute('href')).toBe(
      'https://shop.example/thanks',
    )
    // The receipt: invoice, amount due and paid, a print button; chain A's transaction links to its explorer.
    const receipt = page.getByTestId('receipt')
    expect(await receipt.getByRole('heading').textContent()).toBe('Reçu')
    expect(await receipt.textContent()).toContain(invoice.id)
    expect(await receipt.textContent()).toContain('12.5 USDT')
    expect(await receipt.getByRole('button', { name: 'Imprimer ou enregistrer le reçu' }).count()).toBe(1)
    const explorerLinks = page.getByRole('link', { name: /0x[0-9a-f]{64}/ })
    expect(await explorerLinks.count()).toBe(1)
    expect(await explorerLinks.first().getAttribute('href')).toMatch(
      /^https:\/\/explorer\.example\/tx\/0x[0-9a-f]{64}$/,
    )
    await page.screenshot({ path: join(screenshotDirectory, 'checkout-desktop-settled.png'), fullPage: true })
    expect(pageErrors).toEqual([])
    expect(foreign).toEqual([])
    await context.close()
  })

  it('detects the browser language and fits a phone screen', async () => {
    const invoice = await client.createInvoice({ body: { amount: '3', currency: 'USDT' } })
    const context = await browser.newContext({
      locale: 'zh-TW',
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    })
    const page = await context.newPage()
    await page.goto(`${gateway.apiUrl}/pay/${invoice.id}`)
    await expect.poll(() => page.getByRole('status').textContent()).toContain('等待付款')
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('付款')
    expect(await page.getByRole('button', { name: '複製地址' }).count()).toBe(1)
    // Nothing wider than the phone: a long address wraps instead of scrolling sideways.
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390)
    await expect
      .poll(() => page.locator('.qr img').evaluate((image: { naturalWidth: number }) => image.naturalWidth))
      .toBeGreaterThan(0)
    await page.screenshot({ path: join(screenshotDirectory, 'checkout-phone.png'), fullPage: true })
    await context.close()
  })

  it('shows an expired invoice as expired and hides the address', async () => {
    const invoice = await client.createInvoice({ body: { amount: '1', currency: 'USDT' } })
    await database.pool.query("update invoices set expires_at = now() - interval '1 second' where id = $1", [
      invoice.id,
    ])
    const context = await browser.newContext({ locale: 'ru-RU' })
    const page = await context.newPage()
    await page.goto(`${gateway.apiUrl}/pay/${invoice.id}`)
    await expect
      .poll(() => page.getByRole('status').getAttribute('data-phase'), { timeout: 60_000 })
      .toBe('expired')
    expect(await page.getByRole('status').textContent()).toContain('Срок счёта истёк')
    expect(await page.getByTestId('pay-address').count()).toBe(0)
    await context.close()
  })
})
