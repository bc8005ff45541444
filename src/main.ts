// Process entry of the HTTP service: config from the environment, listen, and a graceful shutdown on
// SIGTERM/SIGINT (stop accepting, let in-flight compactions finish within SHUTDOWN_TIMEOUT_MS, remove
// temporary files, exit 0). `npm start` runs this file; `metric-compactor serve` calls serve().
import { buildApp, type App } from './app.ts'
import { loadConfig, type Config } from './config.ts'
import { CompactorError } from './errors.ts'

export interface Server {
  readonly app: App
  /** The address it listens on, e.g. http://127.0.0.1:8080. */
  readonly address: string
  /** Drains and closes; resolves true if everything finished within the deadline. */
  shutdown (): Promise<boolean>
}

/** Starts the service on config.host:config.port. */
export async function serve (config: Config): Promise<Server> {
  const app = await buildApp(config)
  if (config.s3.allowedBuckets.length === 0) {
    app.log.warn('S3_ALLOWED_BUCKETS is unset: s3:// inputs and outputs may use any bucket the credentials reach')
  }
  const address = await app.listen({ host: config.host, port: config.port })
  let closing: Promise<boolean> | null = null
  const shutdown = (): Promise<boolean> => {
    closing ??= drain(app, config.shutdownTimeoutMs)
    return closing
  }
  return { app, address, shutdown }
}

/** Stops accepting, waits for requests in flight (forcing their connections closed at the deadline), then closes. */
async function drain (app: App, timeoutMs: number): Promise<boolean> {
  app.service.state.draining = true
  app.log.info({ compactions_in_flight: app.service.state.compactionsInFlight }, 'draining: no new compactions, waiting for those in flight')
  let clean = true
  const deadline = setTimeout(() => {
    clean = false
    app.log.warn({ timeout_ms: timeoutMs }, 'shutdown deadline passed: closing the connections still open')
    app.server.closeAllConnections()
  }, timeoutMs)
  try {
    await app.close()
  } finally {
    clearTimeout(deadline)
  }
  app.log.info({ clean }, 'closed')
  return clean
}

/** Runs the service until SIGTERM/SIGINT; the exit code is 0 after a clean drain. */
export async function run (config: Config): Promise<void> {
  const server = await serve(config)
  const stop = (signal: string): void => {
    server.app.log.info({ signal }, 'shutting down')
    server.shutdown().then(clean => { process.exitCode = clean ? 0 : 1 }, err => {
      server.app.log.error({ err }, 'shutdown failed')
      process.exitCode = 1
    }).finally(() => {
      // idle keep-alive sockets of outgoing fetches must not hold the exit up
      setTimeout(() => process.exit(), 1000).unref()
    })
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

if (import.meta.main) {
  try {
    await run(loadConfig())
  } catch (err) {
    const message = err instanceof CompactorError ? `${err.code}: ${err.message}` : (err as Error).message
    process.stderr.write(`metric-compactor: ${message}\n`)
    process.exitCode = 1
  }
}
