import { describe, expect, it } from 'vitest'
import { checkFile, forbiddenImport } from './tidy-rules.ts'

const rulesOf = (path: string, text: string) => checkFile(path, text).map((violation) => violation.rule)

describe('tidy rules', () => {
  it('allows process.env only in config/env.ts', () => {
    expect(rulesOf('server/src/db/pool.ts', 'const x = process.env.X')).toEqual([
      'process-env-outside-config',
    ])
    expect(rulesOf('server/src/config/env.ts', 'const x = process.env.X')).toEqual([])
  })

  it('bans floats in money code but not elsewhere', () => {
    expect(rulesOf('server/src/modules/ledger/ledger.service.ts', 'const a = Number(x)')).toEqual([
      'float-in-money-code',
    ])
    expect(rulesOf('sdk/src/money.ts', 'Math.round(1)')).toEqual(['float-in-money-code'])
    expect(rulesOf('server/src/modules/ledger/ledger.service.ts', 'parseFloat(x)')).toEqual([
      'float-in-money-code',
    ])
    expect(rulesOf('server/src/jobs/runner.ts', 'Math.min(1, 2)')).toEqual([])
  })

  it('bans @ts-ignore, bare @ts-expect-error, FIXME and barrel files', () => {
    expect(rulesOf('server/src/a/b.ts', '// @ts-ignore')).toEqual(['ts-ignore'])
    expect(rulesOf('server/src/a/b.ts', '// @ts-expect-error')).toEqual(['ts-expect-error-without-reason'])
    expect(rulesOf('server/src/a/b.ts', '// @ts-expect-error: viem types lag the RPC')).toEqual([])
    expect(rulesOf('server/src/a/b.ts', '// FIXME later')).toEqual(['fixme'])
    expect(rulesOf('server/src/modules/ledger/index.ts', '')).toEqual(['barrel-file'])
  })

  it('enforces the layer rules', () => {
    expect(forbiddenImport('server/src/lib/money.ts', '../db/pool.ts')).toMatch(/lib/)
    expect(
      forbiddenImport('server/src/modules/invoices/invoice.service.ts', '../ledger/ledger.repo.ts'),
    ).toMatch(/service/)
    expect(
      forbiddenImport('server/src/modules/invoices/invoice.service.ts', '../ledger/ledger.service.ts'),
    ).toBeUndefined()
    expect(forbiddenImport('server/src/modules/invoices/invoice.service.ts', '../../http/app.ts')).toMatch(
      /main/,
    )
    expect(forbiddenImport('server/src/main/runtime.ts', '../http/app.ts')).toBeUndefined()
    expect(
      forbiddenImport('server/src/http/routes/health.ts', '../../modules/chains/rpc-health.ts'),
    ).toBeUndefined()
    expect(forbiddenImport('server/src/jobs/runner.ts', '../http/app.ts')).toMatch(/main/)
  })
})
