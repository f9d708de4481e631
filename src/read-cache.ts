/** One answer of the read API, rendered: what a cache hit sends as it is. */
export interface RenderedAnswer {
  statusCode: 200 | 404
  /** The JSON body, serialized. */
  body: string
  /** The weak ETag of a 200; a 404 has none. */
  etag?: string
}

/** The entry of `GET /api/metrics`; no brand can have this id (see BRANDS). */
export const ALL_BRANDS = '*'

export interface ReadCacheOptions {
  /** Configured brand ids: the only keys kept, with ALL_BRANDS. */
  brands: readonly string[]
  /** How long an entry is served; 0 turns the cache off. */
  ttlMs: number
  /** A monotonic clock in milliseconds. @default performance.now */
  now?: () => number
}

interface Entry { answer: RenderedAnswer, expires: number }

/**
 * The read API's rendered answers, kept for `ttlMs` so that a hit costs a Map lookup:
 * no store round trip, no parsing, hashing or serializing. It holds at most one entry
 * per configured brand plus one for all brands, whatever ids requests name.
 *
 * A refresh of a brand by this process drops the brand's entry and the all-brands one
 * (`invalidate`), so this instance's own writes show at once. An error is never kept:
 * a render that throws leaves no entry behind.
 *
 * Limitation: writes by other instances sharing the store (and any other change made
 * to the store directly) show only when the entry expires, after at most `ttlMs`; until
 * then `age_seconds` in a served body is also up to `ttlMs` older than it says.
 */
export class ReadCache {
  readonly #entries = new Map<string, Entry>()
  readonly #keys: ReadonlySet<string>
  readonly #ttlMs: number
  readonly #now: () => number
  /** Counts invalidations, so that a render that began before one is not kept after it. */
  #epoch = 0

  constructor (options: ReadCacheOptions) {
    this.#keys = new Set([...options.brands, ALL_BRANDS])
    this.#ttlMs = options.ttlMs
    this.#now = options.now ?? (() => performance.now())
  }

  /** Entries held now, expired ones included until they are replaced or dropped. */
  get size (): number {
    return this.#entries.size
  }

  /**
   * The answer under `key` while it is fresh, else `render()`'s, kept for `ttlMs`
   * unless the key is unknown or an invalidation happened while it rendered (the
   * render may then have read the store before that write).
   */
  async answer (key: string, render: () => Promise<RenderedAnswer>): Promise<RenderedAnswer> {
    if (this.#ttlMs === 0 || !this.#keys.has(key)) return await render()

    const entry = this.#entries.get(key)
    if (entry !== undefined && this.#now() < entry.expires) return entry.answer

    // Timed from before the store read, so no answer is served longer than ttlMs after it.
    const epoch = this.#epoch
    const started = this.#now()
    const answer = await render()
    if (epoch === this.#epoch) {
      this.#entries.set(key, { answer, expires: started + this.#ttlMs })
    }
    return answer
  }

  /** Drops what a write of `brand` made stale: its own entry and the all-brands one. */
  invalidate (brand: string): void {
    this.#epoch++
    this.#entries.delete(brand)
    this.#entries.delete(ALL_BRANDS)
  }
}
