import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { BrandConfig } from './config.js'
import { StoreError } from './errors.js'
import type { BrandResult } from './refresh.js'
import { brandKeys } from './store/keys.js'
import type { CacheStore } from './store/store.js'

/** Runs one real refresh of a brand; it reports failures in its result, never throws. */
export type RefreshOne = (brand: BrandConfig, log: Logger) => Promise<BrandResult>

export interface SchedulerOptions {
  store: CacheStore
  keyPrefix: string
  /**
   * How long a brand's lock lives. It must outlast the longest refresh (the brand
   * deadline), so that a live holder never loses it, and it bounds how long a crashed
   * holder blocks the brand.
   */
  lockTtlMs: number
  /** Pause between two tries at a lock another instance holds. @default 100 */
  pollMs?: number
}

interface Waiting {
  promise: Promise<BrandResult>
  resolve: (result: Promise<BrandResult>) => void
  brand: BrandConfig
  log: Logger
}

interface Slot {
  running?: Promise<BrandResult>
  waiting?: Waiting
}

/**
 * Decides when a brand is really queried. In this process, a request for a brand
 * that is idle starts a refresh at once; requests that arrive while it runs all share
 * one further refresh, started when it ends, so each caller gets data read after it
 * asked and a burst costs at most two queries. Across processes sharing the cache
 * store, each refresh holds the brand's lock, so no two instances query a brand at
 * the same time.
 */
export class BrandScheduler {
  readonly #slots = new Map<string, Slot>()
  readonly #refreshOne: RefreshOne
  readonly #options: Required<SchedulerOptions>

  constructor (refreshOne: RefreshOne, options: SchedulerOptions) {
    this.#refreshOne = refreshOne
    this.#options = { pollMs: 100, ...options }
  }

  /** A result of a refresh of `brand` that started after this call. */
  async refresh (brand: BrandConfig, log: Logger): Promise<BrandResult> {
    const slot = this.#slot(brand.id)
    if (slot.running === undefined) return await this.#start(slot, brand, log)

    if (slot.waiting === undefined) {
      let resolve: Waiting['resolve'] = () => {}
      const promise = new Promise<BrandResult>((done) => { resolve = done })
      slot.waiting = { promise, resolve, brand, log }
    }
    return await slot.waiting.promise
  }

  #slot (id: string): Slot {
    let slot = this.#slots.get(id)
    if (slot === undefined) {
      slot = {}
      this.#slots.set(id, slot)
    }
    return slot
  }

  async #start (slot: Slot, brand: BrandConfig, log: Logger): Promise<BrandResult> {
    const run = this.#locked(brand, log)
    slot.running = run
    // Hand over in one step, so no request can slip between the end of this run
    // and the start of the one that waits for it.
    const handOver = (): void => {
      slot.running = undefined
      const waiting = slot.waiting
      slot.waiting = undefined
      if (waiting !== undefined) {
        waiting.resolve(this.#start(slot, waiting.brand, waiting.log))
      } else {
        this.#slots.delete(brand.id)
      }
    }
    void run.then(handOver, handOver)
    return await run
  }

  /** Refreshes under the brand's cross-instance lock; never throws. */
  async #locked (brand: BrandConfig, log: Logger): Promise<BrandResult> {
    const { store, keyPrefix } = this.#options
    const key = brandKeys(keyPrefix, brand.id).lock
    const token = randomUUID()
    const started = Date.now()

    try {
      const held = await this.#acquire(key, token)
      if (!held) return busy(brand, Date.now() - started, this.#options.lockTtlMs)
    } catch (error) {
      return storeDown(error, Date.now() - started)
    }

    try {
      return await this.#refreshOne(brand, log)
    } catch (error) {
      return { ok: false, duration_ms: Date.now() - started, error: messageOf(error),
        error_code: 'REFRESH_FAILED', retryable: true }
    } finally {
      await store.unlock(key, token).catch((error: unknown) => {
        // The lock frees itself when its TTL passes; nothing else to do.
        log.warn({ brand: brand.id, err: messageOf(error) }, 'brand lock not released')
      })
    }
  }

  /**
   * Tries the lock until it is ours or a lock TTL (plus one poll) has passed: a
   * crashed holder's lock has expired by then, so failing means live instances kept
   * the brand busy all along.
   */
  async #acquire (key: string, token: string): Promise<boolean> {
    const { store, lockTtlMs, pollMs } = this.#options
    const deadline = Date.now() + lockTtlMs + pollMs
    for (;;) {
      if (await store.tryLock(key, token, lockTtlMs)) return true
      if (Date.now() >= deadline) return false
      await sleep(pollMs)
    }
  }
}

function busy (brand: BrandConfig, durationMs: number, lockTtlMs: number): BrandResult {
  return {
    ok: false,
    duration_ms: durationMs,
    error: `Brand "${brand.id}" stayed locked by other instances for ${lockTtlMs} ms: ` +
      'retry when their refreshes have finished.',
    error_code: 'BRAND_BUSY',
    retryable: true
  }
}

function storeDown (error: unknown, durationMs: number): BrandResult {
  return {
    ok: false,
    duration_ms: durationMs,
    error: error instanceof StoreError ? error.message
      : `The cache store failed to lock the brand: ${messageOf(error)}`,
    error_code: 'STORE_UNAVAILABLE',
    retryable: true
  }
}

function messageOf (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
