import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import { BrandConfigError } from '../errors.js'

/** What node-postgres gets: the URL without its TLS words, and the TLS settings they meant. */
export interface PostgresConnection {
  connectionString: string
  ssl: false | ConnectionOptions
}

/** TLS settings for mysql2, in the shape of its `ssl` option. */
export interface MysqlSsl {
  ca?: string
  cert?: string
  key?: string
  rejectUnauthorized: boolean
  verifyIdentity: boolean
}

/** URL parameters that name TLS settings; they never reach node-postgres as such. */
const PG_TLS_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl', 'uselibpqcompat']

/** Skips the host-name check while keeping the certificate chain check (verify-ca). */
const anyHostName = (): undefined => undefined

/**
 * Reads the TLS words of a PostgreSQL URL the way libpq (psql) does, and takes them out of
 * the URL so that node-postgres cannot read them its own way: pg-connection-string 2.x
 * treats `sslmode=require` as `verify-full`, which rejects the self-signed certificates of
 * many managed databases that users connect to with `require`.
 *
 * - `disable` (or no sslmode): no TLS.
 * - `allow`, `prefer`, `require`: encrypted, certificate not checked; with `sslrootcert`,
 *   the chain is checked against that CA (libpq's rule), the host name is not.
 * - `verify-ca`: the chain is checked (against `sslrootcert` or the system CAs).
 * - `verify-full`, `ssl=true`: the chain and the host name are checked.
 * - `no-verify`: node-postgres's own word for encrypted without any check.
 *
 * Limitation: `allow` and `prefer` require TLS; node-postgres cannot fall back to plain
 * text when the server has no TLS.
 */
export function postgresConnection (url: string): PostgresConnection {
  const parsed = new URL(url)
  const params = parsed.searchParams
  const mode = params.get('sslmode') ?? (isTrue(params.get('ssl')) ? 'verify-full' : undefined)
  const files = readTlsFiles({
    ca: params.get('sslrootcert'),
    cert: params.get('sslcert'),
    key: params.get('sslkey')
  }, 'sslrootcert, sslcert or sslkey')
  for (const name of PG_TLS_PARAMS) params.delete(name)
  const connectionString = parsed.toString()

  if (mode === undefined || mode === 'disable') return { connectionString, ssl: false }
  switch (mode) {
    case 'allow':
    case 'prefer':
    case 'require':
      return files.ca === undefined
        ? { connectionString, ssl: { ...files, rejectUnauthorized: false } }
        : { connectionString, ssl: { ...files, checkServerIdentity: anyHostName } }
    case 'no-verify':
      return { connectionString, ssl: { ...files, rejectUnauthorized: false } }
    case 'verify-ca':
      return { connectionString, ssl: { ...files, checkServerIdentity: anyHostName } }
    case 'verify-full':
      return { connectionString, ssl: { ...files } }
    default:
      throw new BrandConfigError(`The database URL has sslmode=${mode}: expected disable, ` +
        'prefer, require, verify-ca or verify-full.')
  }
}

/**
 * Reads the TLS words of a MySQL or MariaDB URL into mysql2's `ssl` option, or undefined
 * for no TLS. Accepted, as MySQL's own client names them:
 *
 * - `ssl-mode` (or `sslmode`) = `DISABLED`, `PREFERRED` or `REQUIRED` (encrypted, the
 *   certificate not checked), `VERIFY_CA` (the chain checked), `VERIFY_IDENTITY` (the chain
 *   and the host name checked);
 * - `ssl=true` (the chain and the host name checked), `ssl=false`;
 * - `ssl-ca` / `sslca`, `ssl-cert` / `sslcert`, `ssl-key` / `sslkey`: PEM file paths. A CA
 *   alone turns TLS on and checks the chain against it.
 *
 * Limitation: `PREFERRED` requires TLS; mysql2 cannot fall back to plain text.
 */
export function mysqlSsl (url: string): MysqlSsl | undefined {
  const params = new URL(url).searchParams
  const files = readTlsFiles({
    ca: params.get('ssl-ca') ?? params.get('sslca'),
    cert: params.get('ssl-cert') ?? params.get('sslcert'),
    key: params.get('ssl-key') ?? params.get('sslkey')
  }, 'ssl-ca, ssl-cert or ssl-key')
  const mode = mysqlMode(params.get('ssl-mode') ?? params.get('sslmode'), params.get('ssl'),
    files.ca !== undefined)

  switch (mode) {
    case 'DISABLED':
      return undefined
    case 'PREFERRED':
    case 'REQUIRED':
      return { ...files, rejectUnauthorized: false, verifyIdentity: false }
    case 'VERIFY_CA':
      return { ...files, rejectUnauthorized: true, verifyIdentity: false }
    case 'VERIFY_IDENTITY':
      return { ...files, rejectUnauthorized: true, verifyIdentity: true }
  }
}

type MysqlMode = 'DISABLED' | 'PREFERRED' | 'REQUIRED' | 'VERIFY_CA' | 'VERIFY_IDENTITY'
const MYSQL_MODES: readonly MysqlMode[] = ['DISABLED', 'PREFERRED', 'REQUIRED', 'VERIFY_CA',
  'VERIFY_IDENTITY']

function mysqlMode (mode: string | null, ssl: string | null, hasCa: boolean): MysqlMode {
  if (mode !== null) {
    const upper = mode.toUpperCase().replace(/-/g, '_') as MysqlMode
    if (MYSQL_MODES.includes(upper)) return upper
    throw new BrandConfigError(`The database URL has ssl-mode=${mode}: expected DISABLED, ` +
      'PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY.')
  }
  if (ssl !== null) {
    if (isTrue(ssl)) return 'VERIFY_IDENTITY'
    if (ssl === 'false' || ssl === '0') return 'DISABLED'
    throw new BrandConfigError(`The database URL has ssl=${ssl}: expected true or false.`)
  }
  return hasCa ? 'VERIFY_CA' : 'DISABLED'
}

function isTrue (value: string | null): boolean {
  return value === 'true' || value === '1'
}

interface TlsFiles {
  ca?: string
  cert?: string
  key?: string
}

/** Reads PEM files named in a URL; a missing file is the brand's configuration error. */
function readTlsFiles (paths: Record<keyof TlsFiles, string | null>, names: string): TlsFiles {
  const files: TlsFiles = {}
  for (const [name, path] of Object.entries(paths) as Array<[keyof TlsFiles, string | null]>) {
    if (path === null || path === '') continue
    try {
      files[name] = readFileSync(path, 'utf8')
    } catch (error) {
      const reason = (error as { code?: string }).code ?? 'unreadable'
      throw new BrandConfigError(`The database URL's ${names} file "${path}" cannot be ` +
        `read (${reason}): expected a readable PEM file.`)
    }
  }
  return files
}
