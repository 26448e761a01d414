import { runProcess } from './process.ts'

// `npm run migrate`: applies pending migrations (startRuntime does it) and exits.
await runProcess('migrate', async (runtime) => {
  runtime.logger.info('database is up to date')
  await runtime.shutdown()
})
