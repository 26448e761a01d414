import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { serverDirectory } from '../../../test/setup/gateway-process.ts'
import { assertNoSecretsIn, testMnemonic } from '../../../test/setup/leak-guard.ts'
import { suiteLogDirectory } from '../../../test/setup/suite-logs.ts'
import { baseChildEnvironment } from '../../config/env.ts'
import { runColdCommand } from '../../main/commands/cold.ts'

// `sluice cold split | combine`: the phrase and shares come from stdin and go to the terminal only; the
// split's output (kept in the suite logs, which the global setup scans) never contains the phrase.
const anvil0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'

async function run(args: string[], input: string, coldAddress: string | undefined = anvil0) {
  const lines: string[] = []
  const exitCode = await runColdCommand(args, {
    readInput: async () => input,
    write: (line) => lines.push(line),
    coldAddresses: coldAddress === undefined ? [] : [{ network: 'ethereum', address: coldAddress }],
  })
  return { exitCode, lines, output: lines.join('\n') }
}

const sharesOf = (lines: readonly string[]) =>
  lines.filter((line) => line.startsWith('share ')).map((line) => line.replace(/^share \d+\/\d+: /, ''))

function runCli(args: string[], input: string, configPath: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', ...args], {
      cwd: serverDirectory,
      env: { ...baseChildEnvironment(), SLUICE_CONFIG: configPath, SLUICE_LOG_LEVEL: 'info' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk)
    })
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk)
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(input)
  })
}

describe('sluice cold', () => {
  it('splits 3 of 5, verifies the configured address, and never prints the phrase', async () => {
    const split = await run(['split', '--threshold', '3', '--shares', '5'], `  ${testMnemonic}\n`)
    expect(split.exitCode).toBe(0)
    expect(split.output).toContain(`Verified: the phrase controls ${anvil0}`)
    expect(sharesOf(split.lines)).toHaveLength(5)
    assertNoSecretsIn(split.output)
  })

  it('combines any 3 (labels as printed are accepted); 2 are refused with the code', async () => {
    const shares = sharesOf((await run(['split', '--threshold', '3', '--shares', '5'], testMnemonic)).lines)
    const combined = await run(['combine'], shares.slice(2).join('\n'))
    expect(combined.exitCode).toBe(0)
    expect(combined.output).toContain(testMnemonic)
    const verified = await run(
      ['combine', '--verify-only'],
      shares
        .slice(0, 3)
        .map((s, i) => `share ${i + 1}/5: ${s}`)
        .join('\n'),
    )
    expect(verified.exitCode).toBe(0)
    assertNoSecretsIn(verified.output)
    const short = await run(['combine'], shares.slice(0, 2).join('\n'))
    expect(short).toMatchObject({ exitCode: 1 })
    expect(short.output).toContain('cold-shares-below-threshold')
    assertNoSecretsIn(short.output)
  })

  it('refuses shares of another wallet than the configured cold address', async () => {
    const shares = sharesOf(
      (await run(['split', '--threshold', '2', '--shares', '3'], testMnemonic, undefined)).lines,
    )
    const other = await run(
      ['combine', '--verify-only'],
      shares.slice(0, 2).join('\n'),
      '0x0000000000000000000000000000000000000001',
    )
    expect(other.exitCode).toBe(1)
    expect(other.output).toContain('cold-address-mismatch')
  })

  it('refuses arguments it does not know without echoing them (a phrase pasted as an argument)', async () => {
    const pasted = await run(['split', ...testMnemonic.split(' ')], '')
    expect(pasted.exitCode).toBe(64)
    assertNoSecretsIn(pasted.output)
  })

  it('the real CLI reads stdin; its output and stderr hold no secret (kept for the suite scan)', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'sluice-cold-'))
    const configPath = join(directory, 'config.json')
    writeFileSync(
      configPath,
      JSON.stringify({
        // Required beside a treasury (docs/adr/0026); this offline command never reads the store.
        operatorStores: [`mer_${'0'.repeat(26)}`],
        networks: [
          {
            name: 'ethereum',
            kind: 'evm',
            chainId: 1,
            rpcUrls: ['http://127.0.0.1:9'],
            blockTimeMs: 12_000,
            finality: { kind: 'tag' },
            tokens: [],
            treasury: { coldAddress: anvil0 },
          },
        ],
      }),
    )
    const split = await runCli(
      ['cold', 'split', '--threshold', '2', '--shares', '3'],
      testMnemonic,
      configPath,
    )
    expect(split.code).toBe(0)
    const shares = sharesOf(split.stdout.split('\n'))
    expect(shares).toHaveLength(3)
    const verify = await runCli(['cold', 'combine', '--verify-only'], shares.slice(1).join('\n'), configPath)
    expect(verify.code).toBe(0)
    expect(verify.stdout).toContain('Verified')
    mkdirSync(suiteLogDirectory, { recursive: true })
    const kept = [split.stdout, split.stderr, verify.stdout, verify.stderr].join('\n')
    writeFileSync(join(suiteLogDirectory, 'cold-cli.log'), kept)
    assertNoSecretsIn(kept)
  })
})
