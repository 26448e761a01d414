import { refillDepositAddressPool } from '../../server/src/modules/payments/deposit-address.service.ts'
import { type BenchChild, type ChildWindow, startChild, windowBetween } from './children.ts'
import { type LoadResult, runLoad } from './load.ts'
import { benchNetwork, type PhaseLoad, scratchStore, startPhase } from './setup.ts'

export const invoiceDatabase = 'sluice_bench_api'
const connections = 32
const requestBody = JSON.stringify({ amount: '10', currency: 'USDT' })

export type InvoiceOptions = {
  durationSeconds: number
  warmupSeconds: number
  rounds: number
  logLevel: string
  cpuProfileDir: string | undefined
  trace: boolean
}

/** Statements and their requests, for the API's batched invoice writes (ADR 0028), during one run. */
export type BatchedWrites = { statements: number; requests: number }

export type TargetRun = { load: LoadResult; server: ChildWindow; phase: PhaseLoad; batches?: BatchedWrites }

/** The API's batched-write histogram for invoice creation, read from its /metrics. */
async function batchedWritesOf(port: number): Promise<BatchedWrites> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const value = (name: string) =>
    Number.parseFloat(
      text.match(new RegExp(`^${name}\\{operation="createInvoice"\\} (\\S+)$`, 'm'))?.[1] ?? '0',
    )
  return {
    statements: value('sluice_batched_write_requests_count'),
    requests: value('sluice_batched_write_requests_sum'),
  }
}

export type InvoiceResult = {
  connections: number
  api: TargetRun[]
  baseline: TargetRun[]
  invoicesStored: number
  baselineRowsStored: number
  apiQueries: unknown
  baselineQueries: unknown
}

async function measure(
  name: 'api' | 'baseline',
  child: BenchChild,
  path: string,
  headers: Record<string, string>,
  durationSeconds: number,
): Promise<TargetRun> {
  // The API's batched one-statement writes run on a pool of their own (ADR 0028), named after its pool.
  const phase = await startPhase(invoiceDatabase, [`sluice-bench-${name}`, `sluice-bench-${name}-batches`])
  const before = await child.snapshot()
  const batchesBefore = name === 'api' ? await batchedWritesOf(child.port) : undefined
  const load = await runLoad({
    url: `http://127.0.0.1:${child.port}`,
    path,
    headers,
    body: requestBody,
    connections,
    durationSeconds,
    requestsMax: 1_000_000,
  })
  const after = await child.snapshot()
  const run = { load, server: windowBetween(before, after, load.seconds), phase: await phase.stop() }
  if (batchesBefore === undefined) return run
  const batchesAfter = await batchedWritesOf(child.port)
  return {
    ...run,
    batches: {
      statements: batchesAfter.statements - batchesBefore.statements,
      requests: batchesAfter.requests - batchesBefore.requests,
    },
  }
}

/**
 * Invoice creation through the real API vs a bare Fastify INSERT route, same database, pool settings,
 * logger and autocannon settings (32 connections), each in its own server process. Rounds alternate the
 * two (baseline first) so drift on a shared machine hits both.
 */
export async function benchInvoices(options: InvoiceOptions): Promise<InvoiceResult> {
  const store = await scratchStore(invoiceDatabase)
  await store.pool.query(
    `create table bench_baseline (id text primary key, body jsonb not null,
       created_at timestamptz not null default now())`,
  )
  const childOptions = { cpuProfileDir: options.cpuProfileDir }
  const traceArg = options.trace ? ['trace'] : []
  const api = await startChild(
    'server-child.ts',
    ['api', store.url, options.logLevel, JSON.stringify(benchNetwork), ...traceArg],
    childOptions,
  )
  const baseline = await startChild(
    'server-child.ts',
    ['baseline', store.url, options.logLevel, '{}', ...traceArg],
    childOptions,
  )
  // The gateway's worker keeps the deposit address pool topped up (docs/adr/0018); it runs during the
  // measurement and competes for the same CPU. The pool starts at its floor (one call fills it): the
  // worker sizes it up to the measured demand during the warm-up and the run, and pays for that here.
  await refillDepositAddressPool(store.pool, store.merchantId)
  const worker = await startChild(
    'runner-child.ts',
    [store.url, 'invoice-worker', options.logLevel],
    childOptions,
  )
  const apiHeaders = { authorization: `Bearer ${store.apiKey}` }
  try {
    const probe = await fetch(`http://127.0.0.1:${api.port}/v1/invoices`, {
      method: 'POST',
      headers: { ...apiHeaders, 'content-type': 'application/json', 'idempotency-key': 'bench-probe' },
      body: requestBody,
    })
    if (probe.status !== 201) throw new Error(`probe invoice: ${probe.status} ${await probe.text()}`)
    const result: InvoiceResult = {
      connections,
      api: [],
      baseline: [],
      invoicesStored: 0,
      baselineRowsStored: 0,
      apiQueries: [],
      baselineQueries: [],
    }
    for (let round = 0; round < options.rounds; round += 1) {
      for (const [name, child, path, headers] of [
        ['baseline', baseline, '/baseline', {}],
        ['api', api, '/v1/invoices', apiHeaders],
      ] as const) {
        if (options.warmupSeconds > 0) await measure(name, child, path, headers, options.warmupSeconds)
        const run = await measure(name, child, path, headers, options.durationSeconds)
        result[name].push(run)
        console.error(
          `invoices round ${round + 1} ${name}: ${run.load.okPerSecond.toFixed(0)} 2xx/s, p99 ${run.load.p99Ms.toFixed(1)} ms, non-2xx ${run.load.non2xx}, errors ${run.load.errors}`,
        )
      }
    }
    const counts = await store.pool.query<{ invoices: number; baseline: number }>(
      'select (select count(*) from invoices)::int as invoices, (select count(*) from bench_baseline)::int as baseline',
    )
    result.invoicesStored = counts.rows[0]?.invoices ?? 0
    result.baselineRowsStored = counts.rows[0]?.baseline ?? 0
    result.apiQueries = ((await api.stop()) as { queries: unknown }).queries
    result.baselineQueries = ((await baseline.stop()) as { queries: unknown }).queries
    await worker.stop()
    return result
  } finally {
    api.child.kill()
    baseline.child.kill()
    worker.child.kill()
    await store.pool.end()
  }
}
