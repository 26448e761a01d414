// Compiles contracts/src/*.sol with solc-js and writes typed viem artifacts to contracts/artifacts/<Name>.ts.
// Usage: npx tsx contracts/scripts/compile.ts (or npm run contracts:build from the repository root).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { artifactsDir, buildArtifacts, CompilationError } from './solc-build.ts'

function main(): void {
  const started = Date.now()
  const { artifacts, warnings } = buildArtifacts()
  for (const warning of warnings) process.stderr.write(`${warning}\n`)
  mkdirSync(artifactsDir, { recursive: true })
  const expected = new Set(artifacts.map((artifact) => artifact.fileName))
  for (const file of readdirSync(artifactsDir)) {
    // A contract that was removed from src/ must not leave a stale artifact behind.
    if (file.endsWith('.ts') && !expected.has(file)) rmSync(join(artifactsDir, file))
  }
  for (const artifact of artifacts) writeFileSync(join(artifactsDir, artifact.fileName), artifact.content)
  const names = artifacts.map((artifact) => artifact.contractName).join(', ')
  process.stdout.write(`compiled ${names} in ${Date.now() - started} ms -> ${artifactsDir}\n`)
}

try {
  main()
} catch (error) {
  if (error instanceof CompilationError) process.stderr.write(`${error.message}\n`)
  else process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exitCode = 1
}
