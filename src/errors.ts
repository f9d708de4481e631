/**
 * Every error this service raises on purpose. Each has a stable `code` that logs, the
 * CLI and HTTP answers carry, and an HTTP status the error handler maps it to.
 * Messages are one sentence a user can act on and never contain a secret.
 */
export class AppError extends Error {
  readonly code: string
  readonly statusCode: number

  constructor (code: string, message: string, statusCode = 500, options?: ErrorOptions) {
    super(message, options)
    this.name = 'AppError'
    this.code = code
    this.statusCode = statusCode
  }
}

/** A setting is missing or malformed; `variable` names the environment variable. */
export class ConfigError extends AppError {
  readonly variable: string

  constructor (variable: string, message: string) {
    super('CONFIG_INVALID', message, 500)
    this.name = 'ConfigError'
    this.variable = variable
  }
}

/** A brand id that is not in BRANDS. */
export class BrandUnknownError extends AppError {
  readonly brand: string

  constructor (brand: string, known: readonly string[]) {
    super('BRAND_UNKNOWN',
      `Unknown brand "${brand}": expected one of ${known.join(', ') || '(none configured)'}.`,
      404)
    this.name = 'BrandUnknownError'
    this.brand = brand
  }
}

/**
 * A brand cannot be refreshed until an operator fixes its configuration (no URL, an
 * unknown scheme). Retrying will not help.
 */
export class BrandConfigError extends AppError {
  constructor (message: string) {
    super('BRAND_CONFIG_INVALID', message, 500)
    this.name = 'BrandConfigError'
  }
}

/** The brand database could not be reached (connect failed, refused, timed out). */
export class SourceConnectError extends AppError {
  constructor (message: string, options?: ErrorOptions) {
    super('SOURCE_CONNECT_FAILED', message, 502, options)
    this.name = 'SourceConnectError'
  }
}

/** A statement on the brand database failed or outlived its deadline. */
export class SourceQueryError extends AppError {
  readonly isTimeout: boolean
  /** False when the SQL itself is wrong (syntax, a write, a missing column). */
  readonly isRetryable: boolean

  constructor (message: string,
    options?: ErrorOptions & { isTimeout?: boolean, isRetryable?: boolean }) {
    super(options?.isTimeout === true ? 'SOURCE_QUERY_TIMEOUT' : 'SOURCE_QUERY_FAILED',
      message, 502, options)
    this.name = 'SourceQueryError'
    this.isTimeout = options?.isTimeout === true
    this.isRetryable = options?.isRetryable ?? true
  }
}

/** The cache store (Redis, Upstash) could not be read or written. */
export class StoreError extends AppError {
  constructor (message: string, options?: ErrorOptions) {
    super('STORE_UNAVAILABLE', message, 503, options)
    this.name = 'StoreError'
  }
}

/** A webhook request failed authentication; the reason is for the log only. */
export class AuthError extends AppError {
  constructor (code: 'SIGNATURE_INVALID' | 'TOKEN_INVALID', message: string) {
    super(code, message, 401)
    this.name = 'AuthError'
  }
}

/** Whether a failure may heal by itself, so that QStash should redeliver. */
export function isRetryable (error: unknown): boolean {
  if (error instanceof SourceQueryError) return error.isRetryable
  return !(error instanceof BrandConfigError || error instanceof BrandUnknownError ||
    error instanceof ConfigError)
}
