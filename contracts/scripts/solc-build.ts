import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import solc from 'solc'

/** contracts/ (the workspace root of this package). */
export const contractsDir = join(dirname(fileURLToPath(import.meta.url)), '..')
export const sourcesDir = join(contractsDir, 'src')
export const artifactsDir = join(contractsDir, 'artifacts')

/** Fixed compiler settings: together with the pinned solc and OpenZeppelin versions they make the output deterministic. */
export const compilerSettings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  viaIR: false,
  metadata: { bytecodeHash: 'ipfs' },
} as const

const openZeppelinPrefix = '@openzeppelin/contracts/'
const buildCommand = 'npm run contracts:build (npx tsx contracts/scripts/compile.ts)'

type SolcMessage = { severity: 'error' | 'warning' | 'info'; formattedMessage: string }
type SolcContractOutput = { abi: unknown[]; evm: { bytecode: { object: string } } }
type SolcOutput = {
  errors?: SolcMessage[]
  contracts?: Record<string, Record<string, SolcContractOutput>>
}

export type Artifact = { contractName: string; fileName: string; content: string }

export class CompilationError extends Error {
  constructor(readonly messages: string[]) {
    super(`solc reported ${messages.length} error(s):\n${messages.join('\n')}`)
    this.name = 'CompilationError'
  }
}

/** `src/X.sol` source unit names; each file must define a contract named after it. */
function readSources(): Record<string, { content: string }> {
  const files = readdirSync(sourcesDir)
    .filter((file) => file.endsWith('.sol'))
    .sort()
  if (files.length === 0) throw new Error(`no .sol files in ${sourcesDir}`)
  return Object.fromEntries(
    files.map((file) => [`src/${file}`, { content: readFileSync(join(sourcesDir, file), 'utf8') }]),
  )
}

/** solc import callback: only `@openzeppelin/contracts/...`, read from the installed package. */
function makeImportResolver(): (path: string) => { contents: string } | { error: string } {
  const require = createRequire(import.meta.url)
  const openZeppelinRoot = dirname(require.resolve('@openzeppelin/contracts/package.json'))
  return (path) => {
    const normalized = posix.normalize(path)
    if (!normalized.startsWith(openZeppelinPrefix) || normalized !== path) {
      return { error: `import not allowed: ${path} (only ${openZeppelinPrefix}... is resolved)` }
    }
    try {
      return {
        contents: readFileSync(join(openZeppelinRoot, normalized.slice(openZeppelinPrefix.length)), 'utf8'),
      }
    } catch (error) {
      return { error: `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}` }
    }
  }
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1)
}

function renderArtifact(contractName: string, output: SolcContractOutput, solcVersion: string): string {
  const variable = lowerFirst(contractName)
  const bytecode = output.evm.bytecode.object
  if (!/^[0-9a-f]+$/.test(bytecode))
    throw new Error(`${contractName}: unexpected bytecode (unlinked library?)`)
  const { optimizer, evmVersion } = compilerSettings
  return [
    `// GENERATED FILE, DO NOT EDIT. Source: contracts/src/${contractName}.sol.`,
    `// Regenerate with: ${buildCommand}.`,
    `// solc ${solcVersion}, optimizer ${optimizer.enabled ? 'on' : 'off'} (runs ${optimizer.runs}), evmVersion ${evmVersion}.`,
    '// contracts/test/artifacts.test.ts fails when this file no longer matches the sources.',
    '',
    "import type { Abi, Hex } from 'viem'",
    '',
    `export const ${variable}Abi = ${JSON.stringify(output.abi, null, 2)} as const satisfies Abi`,
    '',
    `export const ${variable}Bytecode = '0x${bytecode}' as const satisfies Hex`,
    '',
  ].join('\n')
}

/** Compiles contracts/src/*.sol in memory; throws CompilationError on any compiler error. */
export function buildArtifacts(): { artifacts: Artifact[]; warnings: string[] } {
  const sources = readSources()
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      ...compilerSettings,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  }
  const output = JSON.parse(
    solc.compile(JSON.stringify(input), { import: makeImportResolver() }),
  ) as SolcOutput
  const messages = output.errors ?? []
  const errors = messages.filter((message) => message.severity === 'error')
  if (errors.length > 0) throw new CompilationError(errors.map((message) => message.formattedMessage))
  const warnings = messages
    .filter((message) => message.severity === 'warning')
    .map((message) => message.formattedMessage)
  const solcVersion = String(solc.version())
  const artifacts = Object.keys(sources).map((unit) => {
    const contractName = posix.basename(unit, '.sol')
    const contract = output.contracts?.[unit]?.[contractName]
    if (contract === undefined) throw new Error(`${unit} must define a contract named ${contractName}`)
    return {
      contractName,
      fileName: `${contractName}.ts`,
      content: renderArtifact(contractName, contract, solcVersion),
    }
  })
  return { artifacts, warnings }
}
