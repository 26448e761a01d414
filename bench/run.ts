import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// `npm run bench -- NAME` runs bench/NAME.ts in its own process (so one benchmark's heap and handles
// cannot skew another's). Each benchmark measures its own baseline in the same run and appends its
// figures to bench/RESULTS.md through bench/results.ts.
const name = process.argv[2]
const directory = dirname(fileURLToPath(import.meta.url))
if (name === undefined || !/^[a-z0-9-]+$/.test(name) || !existsSync(join(directory, `${name}.ts`))) {
  console.error('usage: npm run bench -- NAME   (a file bench/NAME.ts)')
  process.exit(2)
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', join(directory, `${name}.ts`), ...process.argv.slice(3)],
  {
    stdio: 'inherit',
  },
)
process.exit(result.status ?? 1)
