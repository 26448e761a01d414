import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  type GatewayProcess,
  isProcessAlive,
  runDevnetCli,
  spawnGateway,
  temporaryDataDir,
  waitUntilReady,
} from '../setup/gateway-process.ts'

// The zero-setup path a new user takes: `npm start` with nothing configured starts an embedded
// PostgreSQL and three anvil chains, reaches ready, prints how to pay, and a person can use the devnet.
const customer = '0x1234567890AbcdEF1234567890aBcdef12345678'
type Ready = { status: string; networks: { network: string; healthy: boolean }[] }

function devnetPids(dataDir: string): number[] {
  return ['ethereum', 'bsc', 'arbitrum']
    .map((name) => join(dataDir, 'devnet', `${name}.pid`))
    .filter((path) => existsSync(path))
    .map((path) => Number.parseInt(readFileSync(path, 'utf8'), 10))
}

function postgresPid(dataDir: string): number | undefined {
  const path = join(dataDir, 'postgres', 'postmaster.pid')
  return existsSync(path) ? Number.parseInt(readFileSync(path, 'utf8').split('\n')[0] ?? '', 10) : undefined
}

describe('npm start on a fresh machine', () => {
  const dataDir = temporaryDataDir()
  let gateway: GatewayProcess | undefined

  afterAll(async () => {
    if (gateway !== undefined && gateway.child.exitCode === null) gateway.child.kill('SIGKILL')
    for (const pid of [...devnetPids(dataDir), postgresPid(dataDir)])
      if (pid !== undefined && isProcessAlive(pid)) process.kill(pid, 'SIGKILL')
  })

  it('reaches ready with three devnet chains and prints the API URL, demo key and how to pay', async () => {
    gateway = await spawnGateway('all-in-one', { dataDir })
    const ready = (await waitUntilReady(gateway)) as Ready
    expect(ready.status).toBe('ready')
    expect(ready.networks.map((network) => [network.network, network.healthy])).toEqual([
      ['ethereum', true],
      ['bsc', true],
      ['arbitrum', true],
    ])
    const deadline = Date.now() + 10_000
    while (!gateway.output().includes('npm run devnet -- pay') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100))
    expect(gateway.output()).toContain(gateway.apiUrl)
    expect(gateway.output()).toMatch(/demo API key {2}sk_[A-Za-z0-9]{16}_[A-Za-z0-9_-]{43}/)
    expect(gateway.output()).toContain('USDT@bsc')
    // Without operatorStores configured, the devnet's demo store acts for the operator (docs/adr/0026).
    const demoKey = readFileSync(join(dataDir, 'demo-api-key'), 'utf8').trim()
    const treasury = await fetch(`${gateway.apiUrl}/v1/treasury/balances`, {
      headers: { authorization: `Bearer ${demoKey}` },
    })
    expect(treasury.status).toBe(200)
    // The hot-wallet reconciliation runs right after start, at the newest final block: the bootstrap mines
    // its setup to finality, so a new user's first screen shows no warning about unread assets or drift.
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    expect(gateway.output()).not.toContain('could not read every asset')
    expect(gateway.output()).not.toContain('hot-wallet drift seen')
  })

  it('serves liveness, metrics and request ids', async () => {
    const url = gateway?.apiUrl ?? ''
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'alive' })
    const echoed = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'trace-42' } })
    expect(echoed.headers.get('x-request-id')).toBe('trace-42')
    const generated = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } })
    expect(generated.headers.get('x-request-id')).toMatch(/^req_[0-9A-Z]{26}$/)
    const metrics = await (await fetch(`${url}/metrics`)).text()
    expect(metrics).toContain('sluice_http_requests_total')
    expect(metrics).toContain('sluice_process_resident_memory_bytes')
    const missing = await fetch(`${url}/nope`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ code: 'route-not-found' })
  })

  it('lets a person fund an address, read balances and pay a URI on each devnet chain', async () => {
    expect((await runDevnetCli(dataDir, ['fund', customer, '100', 'USDT@bsc'])).code).toBe(0)
    expect((await runDevnetCli(dataDir, ['fund', customer, '12.345678', 'USDT@ethereum'])).code).toBe(0)
    expect((await runDevnetCli(dataDir, ['fund', customer, '7', 'USDC@arbitrum'])).code).toBe(0)
    const networks = JSON.parse(readFileSync(join(dataDir, 'devnet', 'networks.json'), 'utf8')).networks
    const usdcEthereum = networks[0].tokens[1].contractAddress
    const paid = await runDevnetCli(dataDir, [
      'pay',
      `ethereum:${usdcEthereum}@1337001/transfer?address=${customer}&uint256=2500000`,
    ])
    expect(paid.stderr).toBe('')
    expect(paid.code).toBe(0)
    const balance = await runDevnetCli(dataDir, ['balance', customer])
    expect(balance.stdout).toMatch(/USDT@bsc\s+100\n/)
    expect(balance.stdout).toMatch(/USDT@ethereum\s+12\.345678\n/)
    expect(balance.stdout).toMatch(/USDC@ethereum\s+2\.5\n/)
    expect(balance.stdout).toMatch(/USDC@arbitrum\s+7\n/)
  })

  it('refuses amounts it would have to round and unknown assets, with one clear line', async () => {
    const tooPrecise = await runDevnetCli(dataDir, ['fund', customer, '1.0000001', 'USDT@ethereum'])
    expect(tooPrecise.code).toBe(1)
    expect(tooPrecise.stderr).toMatch(/7 fraction digits/)
    const unknown = await runDevnetCli(dataDir, ['fund', customer, '1', 'DAI@ethereum'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/available: USDT@ethereum, USDC@ethereum, USDT@bsc, USDC@arbitrum/)
  })

  it('refuses a second gateway on the same data directory', async () => {
    const second = await spawnGateway('all-in-one', { dataDir })
    const exit = await second.waitForExit()
    expect(exit.code).toBe(78)
    expect(second.errors()).toMatch(/another Sluice gateway \(pid \d+\) is running/)
  })

  it('drains on SIGTERM and stops its database and chains', async () => {
    const pids = [...devnetPids(dataDir), postgresPid(dataDir)].filter(
      (pid): pid is number => pid !== undefined,
    )
    expect(pids).toHaveLength(4)
    gateway?.child.kill('SIGTERM')
    expect(await gateway?.waitForExit()).toEqual({ code: 0, signal: null })
    for (const pid of pids) expect(isProcessAlive(pid)).toBe(false)
  })

  it('restarts with its state (balances on the chains, the same demo key) and survives kill -9', async () => {
    const firstKey = readFileSync(join(dataDir, 'demo-api-key'), 'utf8')
    gateway = await spawnGateway('all-in-one', { dataDir })
    await waitUntilReady(gateway)
    expect(readFileSync(join(dataDir, 'demo-api-key'), 'utf8')).toBe(firstKey)
    expect((await runDevnetCli(dataDir, ['balance', customer])).stdout).toMatch(/USDT@bsc\s+100\n/)
    gateway.child.kill('SIGKILL')
    await gateway.waitForExit()
    gateway = await spawnGateway('all-in-one', { dataDir })
    await waitUntilReady(gateway)
    gateway.child.kill('SIGTERM')
    expect((await gateway.waitForExit()).code).toBe(0)
  })
})

describe('bad configuration', () => {
  it('stops the start with a message naming each field, and starts nothing', async () => {
    const dataDir = temporaryDataDir()
    const configPath = join(dataDir, 'bad.json')
    const { writeFileSync } = await import('node:fs')
    const network = {
      name: 'ethereum',
      kind: 'evm',
      chainId: 1,
      rpcUrls: ['ftp://rpc'],
      blockTimeMs: 12_000,
      finality: { kind: 'tag' },
      tokens: [
        { symbol: 'USDT', contractAddress: '0xdAC17F958D2ee523a2206206994597C13D831ec7', decimals: 40 },
      ],
    }
    writeFileSync(configPath, JSON.stringify({ networks: [network, { ...network, name: 'copy' }] }))
    const gateway = await spawnGateway('all-in-one', { dataDir, env: { SLUICE_CONFIG: configPath } })
    const exit = await gateway.waitForExit()
    expect(exit.code).toBe(78)
    expect(gateway.errors()).toContain('networks[0].rpcUrls[0]: must be an http(s):// or ws(s):// URL')
    expect(gateway.errors()).toContain('networks[0].tokens[0].decimals')
    expect(gateway.errors()).toContain('networks[1].chainId: duplicates networks[0].chainId (1)')
    expect(existsSync(join(dataDir, 'postgres'))).toBe(false)
  })
})
