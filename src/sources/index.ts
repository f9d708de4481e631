import { BrandConfigError, SourceConnectError } from '../errors.js'
import type { BrandConfig } from '../config.js'
import { MysqlSource } from './mysql.js'
import { PostgresSource } from './postgres.js'
import type { Source, SourceOptions } from './source.js'

/** Opens the source a URL's scheme asks for; throws BrandConfigError for any other. */
export function openSource (url: string, options: SourceOptions): Source {
  const scheme = new URL(url).protocol
  if (scheme === 'postgres:' || scheme === 'postgresql:') return new PostgresSource(url, options)
  if (scheme === 'mysql:' || scheme === 'mariadb:') return new MysqlSource(url, options)
  throw new BrandConfigError(`The database URL scheme "${scheme}" is not supported: ` +
    'expected postgres://, postgresql://, mysql:// or mariadb://.')
}

/**
 * How many sources stay open between uses: every brand's, when their pools' idle
 * connections fit in `maxIdleConnections` (a pass then reuses every connection), else
 * only as many as a pass runs at once. A server's max_connections is often 100: pools
 * kept for 200 brands would take all of it for 30 s after each pass. Keeping some pools
 * but not all would buy nothing: a pass visits brands in the same order each time, so
 * the least recently used pool is always the next one needed.
 * Limitation: past the budget, every pass connects once per brand.
 */
export function maxOpenSources (brands: readonly BrandConfig[], concurrency: number,
  maxIdleConnections: number): number {
  // A custom query holds one connection; the default counts run three side by side.
  const idle = brands.reduce((sum, brand) => sum + (brand.customQuery === undefined ? 3 : 1), 0)
  return idle <= maxIdleConnections ? Number.POSITIVE_INFINITY : concurrency
}

export interface RegistryOptions extends SourceOptions {
  /**
   * How many sources may stay open while no refresh uses them. Beyond it, the least
   * recently used idle ones are closed after each use, so that idle pools never hold
   * more of a server's connections than this allows. @default Infinity
   */
  maxOpen?: number
}

/**
 * Keeps one source per brand, so that refreshes reuse pooled connections instead of
 * reconnecting, within `maxOpen` open sources, and closes them all at shutdown.
 */
export class SourceRegistry {
  /** In order of last use, oldest first. */
  readonly #sources = new Map<string, Source>()
  readonly #inUse = new Map<string, number>()
  readonly #closing = new Set<Promise<void>>()
  readonly #options: SourceOptions
  readonly #maxOpen: number
  #isClosed = false
  #closedAll: Promise<void> | undefined
  /** Rejects when closeAll() is called. */
  readonly #closed: Promise<never>
  #closeNow: (error: Error) => void = () => {}

  constructor (options: RegistryOptions) {
    this.#options = { connectTimeoutMs: options.connectTimeoutMs,
      queryTimeoutMs: options.queryTimeoutMs }
    this.#maxOpen = options.maxOpen ?? Number.POSITIVE_INFINITY
    this.#closed = new Promise<never>((_resolve, reject) => { this.#closeNow = reject })
    this.#closed.catch(() => {})
  }

  /** The brand's source; throws BrandConfigError when the brand cannot have one. */
  get (brand: BrandConfig): Source {
    if (this.#isClosed) {
      // A pass abandoned at shutdown must not open pools again for the brands it had
      // not reached yet: they would outlive the process's own deadline.
      throw new SourceConnectError(`Brand "${brand.id}" was not refreshed: the service is ` +
        'shutting down.')
    }
    const existing = this.#sources.get(brand.id)
    if (existing !== undefined) {
      this.#sources.delete(brand.id)
      this.#sources.set(brand.id, existing)
      return existing
    }

    if (brand.problem !== undefined || brand.databaseUrl === undefined) {
      throw new BrandConfigError(brand.problem ?? `Brand "${brand.id}" has no database URL.`)
    }
    const source = openSource(brand.databaseUrl, this.#options)
    this.#sources.set(brand.id, source)
    return source
  }

  /**
   * Runs `work` with the brand's source, then closes the least recently used sources no
   * one is using while more than `maxOpen` are open. A source in use is never closed.
   */
  async use<T> (brand: BrandConfig, work: (source: Source) => Promise<T>): Promise<T> {
    const source = this.get(brand)
    this.#inUse.set(brand.id, (this.#inUse.get(brand.id) ?? 0) + 1)
    try {
      // closeAll() ends every use at once, even one stuck in a connect that no driver can
      // abort: the refresh records its failure and frees its lock while the store is open.
      return await Promise.race([work(source), this.#closed])
    } finally {
      const left = (this.#inUse.get(brand.id) ?? 1) - 1
      if (left === 0) this.#inUse.delete(brand.id)
      else this.#inUse.set(brand.id, left)
      this.#trim()
    }
  }

  /** How many sources are open now, in use or idle. */
  get size (): number {
    return this.#sources.size
  }

  /**
   * Closes every source, cancelling what they run. A second call waits for the first:
   * whoever closes last (a shutdown after an interrupt) must not return before the
   * running statements have been cancelled.
   */
  async closeAll (): Promise<void> {
    this.#closedAll ??= this.#closeEverything()
    await this.#closedAll
  }

  async #closeEverything (): Promise<void> {
    this.#isClosed = true
    this.#closeNow(new SourceConnectError('The refresh was cancelled: the service is ' +
      'shutting down.'))
    const sources = [...this.#sources.values()]
    this.#sources.clear()
    await Promise.all([...this.#closing,
      ...sources.map(async (source) => { await source.close() })])
  }

  #trim (): void {
    for (const [id, source] of this.#sources) {
      if (this.#sources.size <= this.#maxOpen) return
      if (this.#inUse.has(id)) continue
      this.#sources.delete(id)
      // A pool that fails to close has nothing left to give back: its sockets are gone.
      const closing = source.close().catch(() => {})
      this.#closing.add(closing)
      void closing.finally(() => { this.#closing.delete(closing) })
    }
  }
}
