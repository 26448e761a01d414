import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './env.ts'
import { limits } from './limits.ts'

const usdt = { symbol: 'USDT', contractAddress: '0xdAC17F958D2ee523a2206206994597C13D831ec7', decimals: 6 }
const ethereum = {
  name: 'ethereum',
  kind: 'evm',
  chainId: 1,
  rpcUrls: ['https://rpc.example', 'wss://ws.example'],
  blockTimeMs: 12_000,
  finality: { kind: 'tag' },
  tokens: [usdt],
}

function withFile(config: unknown): Record<string, string> {
  const directory = mkdtempSync(join(tmpdir(), 'sluice-config-'))
  const path = join(directory, 'sluice.json')
  writeFileSync(path, JSON.stringify(config))
  return { SLUICE_CONFIG: path }
}

function problemsOf(environment: Record<string, string>): readonly string[] {
  try {
    loadConfig(environment)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('gives defaults with an empty environment: embedded database, devnet networks', () => {
    const config = loadConfig({})
    expect(config.databaseUrl).toBeUndefined()
    expect(config.networks).toEqual([])
    expect(config.httpPort).toBe(4000)
  })

  it('reads a file and overlays the environment', () => {
    const config = loadConfig({
      ...withFile({ networks: [ethereum], httpPort: 5000 }),
      SLUICE_HTTP_PORT: '6000',
      DATABASE_URL: 'postgres://127.0.0.1:5432/sluice',
    })
    expect(config.httpPort).toBe(6000)
    expect(config.databaseUrl).toBe('postgres://127.0.0.1:5432/sluice')
    expect(config.networks[0]?.tokens[0]?.decimals).toBe(6)
  })

  it('accepts 36 decimals and a confirmations finality rule', () => {
    const network = { ...ethereum, finality: { kind: 'confirmations', confirmations: 12 } }
    network.tokens = [{ ...usdt, decimals: 36 }]
    expect(loadConfig(withFile({ networks: [network] })).networks[0]?.finality).toEqual({
      kind: 'confirmations',
      confirmations: 12,
    })
  })

  it.each([
    ['unknown field', { networks: [{ ...ethereum, colour: 'red' }] }, 'networks[0]'],
    ['unknown top-level field', { httpPrt: 1 }, '(root)'],
    [
      'decimals above 36',
      { networks: [{ ...ethereum, tokens: [{ ...usdt, decimals: 37 }] }] },
      'networks[0].tokens[0].decimals',
    ],
    [
      'rpc url not http(s)/ws(s)',
      { networks: [{ ...ethereum, rpcUrls: ['ftp://x'] }] },
      'networks[0].rpcUrls[0]',
    ],
    [
      'missing token address',
      { networks: [{ ...ethereum, tokens: [{ symbol: 'USDT', decimals: 6 }] }] },
      'networks[0].tokens[0].contractAddress',
    ],
    [
      'malformed token address',
      { networks: [{ ...ethereum, tokens: [{ ...usdt, contractAddress: '0x12' }] }] },
      'networks[0].tokens[0].contractAddress',
    ],
    ['duplicate chain id', { networks: [ethereum, { ...ethereum, name: 'eth2' }] }, 'networks[1].chainId'],
    ['duplicate network name', { networks: [ethereum, { ...ethereum, chainId: 2 }] }, 'networks[1].name'],
    ['no rpc url', { networks: [{ ...ethereum, rpcUrls: [] }] }, 'networks[0].rpcUrls'],
    [
      'explorer not https',
      { networks: [{ ...ethereum, explorerUrl: 'http://etherscan.io' }] },
      'networks[0].explorerUrl',
    ],
    [
      'lower-case native symbol',
      { networks: [{ ...ethereum, nativeSymbol: 'eth' }] },
      'networks[0].nativeSymbol',
    ],
  ])('rejects %s, naming the field', (_case, config, field) => {
    const problems = problemsOf(withFile(config))
    expect(problems.some((problem) => problem.startsWith(`${field}:`))).toBe(true)
  })

  it('takes trusted proxies as IPs and CIDR ranges, and nothing else', () => {
    const good = ['10.0.0.2', '10.0.0.0/8', '0.0.0.0/0', 'fd00::/8', '::1', '2001:db8::/128']
    expect(loadConfig(withFile({ trustedProxies: good })).trustedProxies).toEqual(good)
    expect(loadConfig(withFile({})).trustedProxies).toEqual([])
    const many = (count: number) => Array.from({ length: count }, (_, index) => `10.0.${index}.0/24`)
    expect(loadConfig(withFile({ trustedProxies: many(64) })).trustedProxies.length).toBe(64)
    expect(
      problemsOf(withFile({ trustedProxies: many(65) })).some((p) => p.startsWith('trustedProxies:')),
    ).toBe(true)
    for (const bad of [
      '10.0.0.0/33',
      'fd00::/129',
      'proxy.internal',
      '10.0.0.0/8/1',
      '10.0.0.0/',
      '10.0.0.0/x',
    ])
      expect(
        problemsOf(withFile({ trustedProxies: [bad] })).some((p) => p.startsWith('trustedProxies[0]:')),
      ).toBe(true)
  })

  it('reads webhooks.allowLocalEndpoints as a boolean, absent by default', () => {
    expect(loadConfig(withFile({})).webhooks.allowLocalEndpoints).toBeUndefined()
    expect(
      loadConfig(withFile({ webhooks: { allowLocalEndpoints: true } })).webhooks.allowLocalEndpoints,
    ).toBe(true)
    expect(
      problemsOf(withFile({ webhooks: { allowLocalEndpoints: 'yes' } })).some((p) =>
        p.startsWith('webhooks.allowLocalEndpoints:'),
      ),
    ).toBe(true)
  })

  it('reads operatorStores: store ids, at least one, at most operatorStoresMax, each once', () => {
    const store = (n: number) => `mer_01KAR${String(n).padStart(21, '0')}`
    expect(loadConfig(withFile({})).operatorStores).toBeUndefined()
    expect(loadConfig(withFile({ operatorStores: [store(1), store(2)] })).operatorStores).toEqual([
      store(1),
      store(2),
    ])
    const stores = (count: number) => Array.from({ length: count }, (_, index) => store(index))
    expect(
      loadConfig(withFile({ operatorStores: stores(limits.operatorStoresMax) })).operatorStores,
    ).toHaveLength(limits.operatorStoresMax)
    expect(problemsOf(withFile({ operatorStores: stores(limits.operatorStoresMax + 1) }))).toEqual([
      `operatorStores: Too big: expected array to have <=${limits.operatorStoresMax} items`,
    ])
    expect(problemsOf(withFile({ operatorStores: [] }))).toEqual([
      'operatorStores: list at least one store id, or leave operatorStores out (then no store sees the treasury)',
    ])
    expect(problemsOf(withFile({ operatorStores: [store(1), store(2), store(1)] }))).toEqual([
      `operatorStores[2]: duplicates operatorStores[0] (${store(1)})`,
    ])
    for (const bad of [
      'Demo Store',
      'key_01KAR000000000000000000001',
      `${store(1)}x`,
      'mer_01kar000000000000000000001',
    ])
      expect(problemsOf(withFile({ operatorStores: [bad] }))).toEqual([
        'operatorStores[0]: must be a store id (mer_ and 26 characters)',
      ])
  })

  it('requires operatorStores when a network has a treasury, naming the network', () => {
    const treasury = {
      coldAddress: '0x00000000000000000000000000000000000000cc',
      hotWallet: { USDT: { floorMinor: '1', ceilingMinor: '2' } },
    }
    const networks = [ethereum, { ...ethereum, name: 'eth2', chainId: 2, treasury }]
    expect(problemsOf(withFile({ networks }))).toEqual([
      'operatorStores: required when a network has a treasury (networks[1].treasury): list the stores ' +
        '(mer_…) whose keys and dashboard users see and decide it',
    ])
    const operatorStores = ['mer_01KAR000000000000000000001']
    expect(loadConfig(withFile({ networks, operatorStores })).operatorStores).toEqual(operatorStores)
    expect(loadConfig(withFile({ networks: [ethereum] })).operatorStores).toBeUndefined()
  })

  it('rejects an unknown SLUICE_ variable and a bad port from the environment', () => {
    const problems = problemsOf({ SLUICE_HTTP_PROT: '1', SLUICE_HTTP_PORT: 'eighty' })
    expect(problems.some((problem) => problem.startsWith('SLUICE_HTTP_PROT:'))).toBe(true)
    expect(problems.some((problem) => problem.startsWith('httpPort:'))).toBe(true)
  })

  it('rejects an unreadable config file', () => {
    expect(problemsOf({ SLUICE_CONFIG: '/nonexistent/sluice.json' })[0]).toMatch(/^SLUICE_CONFIG/)
  })
})
