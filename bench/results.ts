import { appendFileSync, existsSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const resultsPath = join(dirname(fileURLToPath(import.meta.url)), 'RESULTS.md')

export type BenchFigure = { name: string; value: string; goal?: string; met?: boolean }

/** Appends one dated section to bench/RESULTS.md and prints it. */
export function appendResults(
  benchmark: string,
  figures: readonly BenchFigure[],
  notes: readonly string[] = [],
): void {
  if (!existsSync(resultsPath))
    writeFileSync(resultsPath, '# Benchmark results\n\nAppended by `npm run bench -- NAME`.\n')
  const machine = `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`
  const lines = [
    '',
    `## ${benchmark}: ${new Date().toISOString()} (${machine})`,
    '',
    '| figure | value | goal | met |',
    '| --- | --- | --- | --- |',
    ...figures.map(
      (figure) =>
        `| ${figure.name} | ${figure.value} | ${figure.goal ?? ''} | ${figure.met === undefined ? '' : figure.met ? 'yes' : 'no'} |`,
    ),
    ...(notes.length > 0 ? ['', ...notes.map((note) => `- ${note}`)] : []),
  ]
  appendFileSync(resultsPath, `${lines.join('\n')}\n`)
  console.log(lines.join('\n'))
}
