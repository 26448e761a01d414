import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type Artifact, artifactsDir, buildArtifacts } from '../scripts/solc-build.ts'

describe('committed contract artifacts', () => {
  let built: { artifacts: Artifact[]; warnings: string[] } | undefined
  const build = () => {
    built ??= buildArtifacts()
    return built
  }

  it('compile without warnings', () => {
    expect(build().warnings).toEqual([])
  })

  it('cover exactly the contracts in contracts/src', () => {
    const committed = readdirSync(artifactsDir)
      .filter((file) => file.endsWith('.ts'))
      .sort()
    expect(committed).toEqual(
      build()
        .artifacts.map((artifact) => artifact.fileName)
        .sort(),
    )
    expect(committed).toEqual([
      'BatchTransfer.ts',
      'BscUsdClone.ts',
      'TetherUsdClone.ts',
      'TransferEventEmitter.ts',
      'UsdCoinClone.ts',
    ])
  })

  it('match a fresh compilation byte for byte (run `npm run contracts:build` if this fails)', () => {
    for (const artifact of build().artifacts) {
      const path = join(artifactsDir, artifact.fileName)
      expect(existsSync(path), `${artifact.fileName} is missing`).toBe(true)
      // Compare as a boolean first so a stale 20 kB file does not flood the output with a diff.
      const upToDate = readFileSync(path, 'utf8') === artifact.content
      expect(upToDate, `contracts/artifacts/${artifact.fileName} is stale: run npm run contracts:build`).toBe(
        true,
      )
    }
  })
})
