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
  /**
   * Called with each result the scheduler makes without RefreshOne (the store failed
   * to lock, the lock stayed busy, the refresh threw), so that it is logged and counted
   * like the results RefreshOne reports itself. Each result goes through one of the two.
   */
  report?: (brand: BrandConfig, result: BrandResult, log: Logger) => void
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
  /**
   * This scheduler's mark, the start of every lock token it uses. It runs one refresh
   * of a brand at a time, so a lock that carries it was left by an earlier run of ours.
   */
  readonly #mark = randomUUID()

  constructor (refreshOne: RefreshOne, options: SchedulerOptions) {
    this.#refreshOne = refreshOne
    this.#options = { pollMs: 100, report: () => {}, ...options }
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

  /**
   * Refreshes under the brand's cross-instance lock; never throws. A result made here
   * rather than by RefreshOne goes to `report`, so every result is reported once.
   */
  async #locked (brand: BrandConfig, log: Logger): Promise<BrandResult> {
    const { result, own } = await this.#lockedRun(brand, log)
    if (own) this.#options.report(brand, result, log)
    return result
  }

  async #lockedRun (brand: BrandConfig, log: Logger): Promise<{ result: BrandResult,
    own: boolean }> {
    const key = brandKeys(this.#options.keyPrefix, brand.id).lock
    const token = `${this.#mark}:${randomUUID()}`
    const started = Date.now()
    try {
      const held = await this.#acquire(key, token, brand, log)
      if (!held) {
        return { result: busy(brand, Date.now() - started, this.#options.lockTtlMs), own: true }
      }
    } catch (error) {
      // A lock command that timed out on a hung store may still be carried out later.
      this.#releaseLater(key, token)
      return { result: storeDown(error, Date.now() - started), own: true }
    }

    try {
      return { result: await this.#refreshOne(brand, log), own: false }
    } catch (error) {
      return { result: { ok: false, duration_ms: Date.now() - started, error: messageOf(error),
        error_code: 'REFRESH_FAILED', retryable: true }, own: true }
    } finally {
      await this.#options.store.unlock(key, token).catch((error: unknown) => {
        log.warn({ brand: brand.id, err: messageOf(error) }, 'brand lock not released')
        this.#releaseLater(key, token)
      })
    }
  }

  /**
   * Tries the lock until it is ours or a lock TTL (plus one poll) has passed: a
   * crashed holder's lock has expired by then, so failing means live instances kept
   * the brand busy all along. A lock bearing our mark is one an earlier run of ours
   * could not release (the store was down, a lock command that timed out on a hung
   * store was carried out later, a restarted Redis replayed it): it is freed at once.
   */
  async #acquire (key: string, token: string, brand: BrandConfig, log: Logger):
  Promise<boolean> {
    const { store, lockTtlMs, pollMs } = this.#options
    const deadline = Date.now() + lockTtlMs + pollMs
    for (;;) {
      if (await store.tryLock(key, token, lockTtlMs)) return true
      const [holder] = await store.getMany([key])
      if (holder?.startsWith(`${this.#mark}:`) === true) {
        await store.unlock(key, holder)
        log.info({ brand: brand.id }, 'brand lock left by an earlier run taken back')
        continue
      }
      if (Date.now() >= deadline) return false
      await sleep(pollMs)
    }
  }

  /**
   * Keeps trying to free a lock of ours that could not be released, every second until
   * the store takes the command or the lock has expired anyway, so that other instances
   * do not wait out its TTL. The timer never keeps the process alive.
   */
  #releaseLater (key: string, token: string): void {
    const { store, lockTtlMs } = this.#options
    const until = Date.now() + lockTtlMs
    const retry = (): void => {
      store.unlock(key, token).catch(() => {
        if (Date.now() < until) setTimeout(retry, RELEASE_RETRY_MS).unref()
      })
    }
    setTimeout(retry, RELEASE_RETRY_MS).unref()
  }
}

/** Pause between two tries at freeing a lock of ours that could not be released. */
const RELEASE_RETRY_MS = 1000

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
