import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../config/env.ts'
import { limits } from '../../config/limits.ts'
import { networkFeeCapWei } from './signer.service.ts'

// The custody settings of a network in the configuration: signer choice, fee cap, treasury band.
const base = {
  name: 'ethereum',
  kind: 'evm',
  chainId: 1,
  rpcUrls: ['https://rpc.example'],
  blockTimeMs: 12_000,
  finality: { kind: 'tag' },
  tokens: [],
}

function load(network: Record<string, unknown>) {
  const directory = mkdtempSync(join(tmpdir(), 'sluice-config-'))
  const path = join(directory, 'config.json')
  // A network with a treasury needs operator stores (docs/adr/0026-operator-store.md).
  const operatorStores = ['mer_01KAR000000000000000000001']
  writeFileSync(path, JSON.stringify({ operatorStores, networks: [{ ...base, ...network }] }))
  return loadConfig({ SLUICE_CONFIG: path })
}

function problems(network: Record<string, unknown>): string {
  try {
    load(network)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.join('\n')
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('network custody configuration', () => {
  it('parses a remote signer, a fee cap and a band as bigint; defaults to keystore and the default cap', () => {
    const [network] = load({
      signer: { kind: 'remote', url: 'https://signer.internal:4100', secretFile: '/run/secrets/signer' },
      maxFeePerGasCapWei: '200000000000',
      treasury: {
        coldAddress: '0x00000000000000000000000000000000000000cc',
        hotWallet: { USDT: { floorMinor: '1000000', ceilingMinor: '5000000' } },
      },
    }).networks
    expect(network?.signer).toEqual({
      kind: 'remote',
      url: 'https://signer.internal:4100',
      secretFile: '/run/secrets/signer',
    })
    expect(network?.maxFeePerGasCapWei).toBe(200_000_000_000n)
    expect(network?.treasury?.hotWallet.USDT).toEqual({ floorMinor: 1_000_000n, ceilingMinor: 5_000_000n })
    const [plain] = load({}).networks
    expect(plain?.signer).toBeUndefined()
    expect(networkFeeCapWei(plain!)).toBe(limits.maxFeePerGasCapWeiDefault)
  })

  it('refuses numbers for wei, a zero cap, a floor not below the ceiling, an unknown signer kind', () => {
    expect(problems({ maxFeePerGasCapWei: 100 })).toContain('maxFeePerGasCapWei')
    expect(problems({ maxFeePerGasCapWei: '0' })).toContain('maxFeePerGasCapWei')
    const band = (floorMinor: string, ceilingMinor: string) => ({
      treasury: {
        coldAddress: '0x00000000000000000000000000000000000000cc',
        hotWallet: { USDT: { floorMinor, ceilingMinor } },
      },
    })
    expect(problems(band('5', '5'))).toContain('floorMinor must be below ceilingMinor')
    expect(load(band('4', '5')).networks[0]?.treasury?.hotWallet.USDT?.floorMinor).toBe(4n)
    expect(problems({ signer: { kind: 'hsm' } })).toContain('signer')
  })
})
