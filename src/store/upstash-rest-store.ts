import { Redis } from '@upstash/redis'
import { StoreError } from '../errors.js'
import { withDeadline } from '../deadline.js'
import type { CacheStore, MetricsWrite } from './store.js'
import { UNLOCK_SCRIPT } from './unlock-script.js'

export interface UpstashRestStoreOptions {
  /** Deadline of one HTTP request, its reply included. @default 5000 */
  commandTimeoutMs?: number
}

/**
 * The cache store over Upstash's REST API (@upstash/redis), for UPSTASH_REDIS_REST_URL
 * and UPSTASH_REDIS_REST_TOKEN. Same keys, TTLs and transactions as RedisStore: a metrics
 * write is one `/multi-exec` request.
 *
 * Values go over the wire as the JSON text itself: the client's automatic JSON
 * (de)serialization and base64 response encoding are off, so a value is never wrapped,
 * double-encoded or parsed (a cached "12345678901234567890" stays that text).
 */
export class UpstashRestStore implements CacheStore {
  readonly kind = 'upstash-rest'
  readonly #redis: Redis
  readonly #where: string
  readonly #token: string
  readonly #timeoutMs: number
  #isClosed = false

  constructor (url: string, token: string, options: UpstashRestStoreOptions = {}) {
    this.#timeoutMs = options.commandTimeoutMs ?? 5000
    this.#where = new URL(url).host
    this.#token = token
    this.#redis = new Redis({
      url,
      token,
      automaticDeserialization: false,
      responseEncoding: false,
      enableTelemetry: false,
      // One retry on a network error at most; every attempt shares the deadline below.
      retry: false,
      // A function, so that each request gets its own deadline. (A fixed signal that
      // fired would make the client answer "Aborted" as if it were a result.)
      signal: () => AbortSignal.timeout(this.#timeoutMs)
    })
  }

  async writeMetrics (write: MetricsWrite): Promise<void> {
    const { keys } = write
    await this.#run('write metrics', async () => await this.#redis.multi()
      .copy(keys.metrics, keys.old, { replace: true })
      .expire(keys.old, write.preserveOldSeconds)
      .set(keys.metrics, write.metrics, { ex: write.ttlSeconds })
      .set(keys.status, write.status)
      .exec())
  }

  async writeStatus (key: string, status: string): Promise<void> {
    await this.#run('write status', async () => await this.#redis.set(key, status))
  }

  async getMany (keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return []
    return await this.#run('read', async () =>
      await this.#redis.mget<Array<string | null>>(...keys))
  }

  async tryLock (key: string, token: string, ttlMs: number): Promise<boolean> {
    const reply = await this.#run('lock', async () =>
      await this.#redis.set(key, token, { px: ttlMs, nx: true }))
    return reply === 'OK'
  }

  async unlock (key: string, token: string): Promise<void> {
    await this.#run('unlock', async () => await this.#redis.eval(UNLOCK_SCRIPT, [key], [token]))
  }

  async addMember (key: string, member: string, ttlSeconds: number): Promise<void> {
    await this.#run('record progress', async () => await this.#redis.multi()
      .sadd(key, member).expire(key, ttlSeconds).exec())
  }

  async members (key: string): Promise<string[]> {
    return await this.#run('read progress', async () => await this.#redis.smembers(key))
  }

  async ping (): Promise<void> {
    await this.#run('ping', async () => await this.#redis.ping())
  }

  /** Every command is its own HTTP request: closing only refuses later ones. */
  async close (): Promise<void> {
    this.#isClosed = true
  }

  async #run<T> (what: string, command: () => Promise<T>): Promise<T> {
    // A late command (a lock release retried in the background) would hold the process
    // open for its whole deadline after the CLI is done.
    if (this.#isClosed) {
      throw new StoreError(`Upstash REST at ${this.#where} is closed: cannot ${what}.`)
    }
    try {
      // The request's own signal normally fires first; this bounds anything after it.
      return await withDeadline(command(), this.#timeoutMs + 1000, `Upstash ${what}`)
    } catch (error) {
      throw new StoreError(`Upstash REST at ${this.#where} failed to ${what}: ` +
        `${this.#reason(error)}.`, { cause: error })
    }
  }

  /** The useful part of a client error, without the command it echoes or the token. */
  #reason (error: unknown): string {
    const err = error as { name?: string, message?: string, cause?: { code?: string } }
    let reason = err.name === 'TimeoutError' || err.name === 'DeadlineError'
      ? `no answer within ${this.#timeoutMs} ms`
      : String(err.message ?? error).split(', command was:')[0] ?? ''
    if (typeof err.cause?.code === 'string') reason += ` (${err.cause.code})`
    return this.#token.length >= 3 ? reason.split(this.#token).join('[redacted]') : reason
  }
}
