import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import Fastify from 'fastify'
import { chromium } from 'playwright-core'
import { checkoutBuildDirectory, registerCheckoutRoutes } from '../server/src/http/routes/checkout.ts'
import { dashboardBuildDirectory } from '../server/src/http/routes/dashboard.ts'
import { appendResults } from './results.ts'

// `npm run bench -- web`: the hosted checkout's weight (JS + CSS, gzipped) and its first contentful paint
// in headless chromium. Baseline, same run, same server: the FCP of a static HTML page with one line of
// text, so the ratio shows what the checkout's bundle costs over the browser's own floor right now. The
// page's API is answered by a fixed invoice (no database, no chain): this measures the page, not the API.
const root = join(import.meta.dirname, '..')
const chromiumPath = '/usr/bin/chromium'
const runs = 15
const sizeGoalKiB = 150

const build = spawnSync('npm', ['run', 'build', '--workspace', 'web'], { cwd: root, encoding: 'utf8' })
if (build.status !== 0) throw new Error(`web build failed:\n${build.stdout}\n${build.stderr}`)

function gzippedBytes(directory: string): { js: number; css: number } {
  let js = 0
  let css = 0
  for (const file of readdirSync(directory)) {
    const bytes = gzipSync(readFileSync(join(directory, file)), { level: 9 }).length
    if (file.endsWith('.js')) js += bytes
    else if (file.endsWith('.css')) css += bytes
  }
  return { js, css }
}

const checkout = gzippedBytes(checkoutBuildDirectory)
const dashboard = gzippedBytes(dashboardBuildDirectory)
const checkoutKiB = (checkout.js + checkout.css) / 1024

const invoiceId = 'inv_01JBENCH00000000000000000A'
const invoice = {
  id: invoiceId,
  status: 'new',
  exception: 'none',
  currency: 'USDT',
  amount: '12.5',
  amount_paid: '0',
  expires_at: new Date(Date.now() + 3_600_000).toISOString(),
  description: 'Benchmark order',
  redirect_url: null,
  checkout_path: `/pay/${invoiceId}`,
  payment_options: [
    {
      network: 'ethereum',
      chain_id: 1,
      asset: 'USDT@ethereum',
      symbol: 'USDT',
      decimals: 6,
      contract_address: '0xdac17f958d2ee523a2206206994597c13d831ec7',
      address: '0x1111111111111111111111111111111111111111',
      amount: '12.5',
      amount_minor: '12500000',
      payment_uri:
        'ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7@1/transfer?address=0x1111111111111111111111111111111111111111&uint256=12500000',
    },
  ],
  payments: [],
}
const blankPage =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>baseline</title></head><body><p>Payment</p></body></html>'

const app = Fastify()
registerCheckoutRoutes(app)
app.get('/bench/baseline', async (_request, reply) => reply.type('text/html; charset=utf-8').send(blankPage))
app.get('/v1/public/invoices/:id', async () => invoice)
app.get('/v1/public/network-fees', async () => ({ data: [] }))
// No stream in the bench: the page falls back to its slow poll, which does not run within a measurement.
app.get('/v1/public/invoices/:id/stream', async (_request, reply) =>
  reply.status(503).send({ code: 'bench' }),
)
app.get('/v1/public/invoices/:id/qr', async (_request, reply) =>
  reply.type('image/svg+xml').send('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'),
)
const base = await app.listen({ host: '127.0.0.1', port: 0 })

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
})
const browserVersion = browser.version()

/** FCP (ms from navigation start) in a fresh context (cold cache), and when `ready` is visible. */
async function measure(path: string, ready: string): Promise<{ fcpMs: number; readyMs: number }> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } })
  const page = await context.newPage()
  await page.goto(`${base}${path}`)
  await page.locator(ready).first().waitFor()
  const readyMs = (await page.evaluate('performance.now()')) as number
  const fcpMs = (await page.evaluate(`new Promise((resolve) => {
    const found = performance.getEntriesByName('first-contentful-paint')[0]
    if (found) return resolve(found.startTime)
    new PerformanceObserver((list) => resolve(list.getEntries()[0].startTime)).observe({ type: 'paint', buffered: true })
  })`)) as number
  await context.close()
  return { fcpMs, readyMs }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
const baseline: { fcpMs: number; readyMs: number }[] = []
const page: { fcpMs: number; readyMs: number }[] = []
await measure('/bench/baseline', 'p') // warm-up: the browser's own first start
await measure(`/pay/${invoiceId}`, '[data-testid="amount"]')
for (let run = 0; run < runs; run += 1) {
  baseline.push(await measure('/bench/baseline', 'p'))
  page.push(await measure(`/pay/${invoiceId}`, '[data-testid="amount"]'))
}
await browser.close()
await app.close()

const baseFcp = median(baseline.map((result) => result.fcpMs))
const pageFcp = median(page.map((result) => result.fcpMs))
const pageReady = median(page.map((result) => result.readyMs))
appendResults(
  'web',
  [
    {
      name: 'checkout JS + CSS gzipped (KiB)',
      value: `${checkoutKiB.toFixed(1)} (JS ${(checkout.js / 1024).toFixed(1)}, CSS ${(checkout.css / 1024).toFixed(1)})`,
      goal: `≤ ${sizeGoalKiB}`,
      met: checkoutKiB <= sizeGoalKiB,
    },
    { name: 'baseline: static HTML page FCP (ms)', value: baseFcp.toFixed(0) },
    {
      name: 'checkout FCP (ms)',
      value: `${pageFcp.toFixed(0)} (${(pageFcp / baseFcp).toFixed(2)}× baseline)`,
    },
    { name: 'checkout amount visible (ms from navigation)', value: pageReady.toFixed(0) },
    {
      name: 'dashboard JS + CSS gzipped (KiB), for reference',
      value: ((dashboard.js + dashboard.css) / 1024).toFixed(1),
    },
  ],
  [
    `median of ${runs} runs each, fresh browser context (cold cache) per run, 390×844 viewport, headless chromium ${browserVersion}`,
    'same Fastify server for both pages; the checkout API answers a fixed invoice (no database or chain in the measurement)',
  ],
)
