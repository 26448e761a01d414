import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { checkFile, type Violation } from './tidy-rules.ts'

const root = join(import.meta.dirname, '..')
const roots = ['server', 'sdk', 'web', 'contracts', 'scripts', 'bench']
const skipped = new Set(['node_modules', 'dist', '.sluice', 'artifacts'])

function* sourceFiles(directory: string): Generator<string> {
  for (const entry of readdirSync(directory)) {
    if (skipped.has(entry)) continue
    const path = join(directory, entry)
    if (statSync(path).isDirectory()) yield* sourceFiles(path)
    else if (/\.tsx?$/.test(entry)) yield path
  }
}

const violations: Violation[] = []
for (const top of roots) {
  for (const path of sourceFiles(join(root, top))) {
    // The rules' own source and tests spell out the banned patterns.
    if (/scripts\/tidy-rules(\.test)?\.ts$/.test(path)) continue
    violations.push(...checkFile(relative(root, path), readFileSync(path, 'utf8')))
  }
}
for (const violation of violations) {
  console.error(`${violation.path}:${violation.line} [${violation.rule}] ${violation.text}`)
}
console.log(violations.length === 0 ? 'tidy: clean' : `tidy: ${violations.length} violation(s)`)
process.exitCode = violations.length === 0 ? 0 : 1
