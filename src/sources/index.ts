import { BrandConfigError } from '../errors.js'
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
 * Keeps one source per brand for the life of the process, so that refreshes reuse
 * pooled connections instead of reconnecting, and closes them all at shutdown.
 */
export class SourceRegistry {
  readonly #sources = new Map<string, Source>()
  readonly #options: SourceOptions

  constructor (options: SourceOptions) {
    this.#options = options
  }

  /** The brand's source; throws BrandConfigError when the brand cannot have one. */
  get (brand: BrandConfig): Source {
    const existing = this.#sources.get(brand.id)
    if (existing !== undefined) return existing

    if (brand.problem !== undefined || brand.databaseUrl === undefined) {
      throw new BrandConfigError(brand.problem ?? `Brand "${brand.id}" has no database URL.`)
    }
    const source = openSource(brand.databaseUrl, this.#options)
    this.#sources.set(brand.id, source)
    return source
  }

  async closeAll (): Promise<void> {
    const sources = [...this.#sources.values()]
    this.#sources.clear()
    await Promise.all(sources.map(async (source) => { await source.close() }))
  }
}
