import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mysql from 'mysql2'
import pg from 'pg'
import { BrandConfigError } from '../../src/errors.js'
import { mysqlPoolOptions } from '../../src/sources/mysql.js'
import { postgresConnection } from '../../src/sources/tls.js'

const OPTIONS = { connectTimeoutMs: 1000, queryTimeoutMs: 1000 }
const PG = 'postgres://reader:pw@db.example.com:5432/shop'
const MY = 'mysql://reader:pw@db.example.com:3306/shop'

/** The TLS settings node-postgres would connect with (no connection is made). */
function pgSsl (url: string): unknown {
  return new pg.Client(postgresConnection(url)).ssl
}

/** The TLS settings mysql2 would connect with (no connection is made). */
function mysqlSslOf (url: string): unknown {
  // mysql2 exports the class its connections read their options with, but types it not.
  const { ConnectionConfig } = mysql as unknown as
    { ConnectionConfig: new (options: object) => { ssl: unknown } }
  return new ConnectionConfig(mysqlPoolOptions(url, OPTIONS)).ssl
}

describe('TLS settings read from database URLs', () => {
  let dir: string
  let ca: string

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mc-tls-'))
    ca = join(dir, 'ca.pem')
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n')
  })

  after(() => { rmSync(dir, { recursive: true, force: true }) })

  test('should connect to PostgreSQL without TLS when the URL asks for none', () => {
    assert.equal(pgSsl(PG), false)
    assert.equal(pgSsl(`${PG}?sslmode=disable`), false)
  })

  test('should encrypt without checking the certificate for sslmode=require, as psql does',
    () => {
      assert.deepEqual(pgSsl(`${PG}?sslmode=require`), { rejectUnauthorized: false })
    })

  test('should check the chain but not the host name for require with sslrootcert', () => {
    const ssl = pgSsl(`${PG}?sslmode=require&sslrootcert=${ca}`) as Record<string, unknown>

    assert.match(String(ssl.ca), /BEGIN CERTIFICATE/)
    assert.equal(ssl.rejectUnauthorized, undefined)
    assert.equal(typeof ssl.checkServerIdentity, 'function')
  })

  test('should check the chain and the host name for sslmode=verify-full', () => {
    const ssl = pgSsl(`${PG}?sslmode=verify-full&sslrootcert=${ca}`) as Record<string, unknown>

    assert.match(String(ssl.ca), /BEGIN CERTIFICATE/)
    assert.equal(ssl.rejectUnauthorized, undefined)
    assert.equal(ssl.checkServerIdentity, undefined)
    assert.deepEqual(pgSsl(`${PG}?ssl=true`), {})
  })

  test('should keep the TLS words out of the URL node-postgres parses', () => {
    const { connectionString } = postgresConnection(
      `${PG}?sslmode=require&sslrootcert=${ca}&application_name=x`)

    assert.equal(connectionString, `${PG}?application_name=x`)
  })

  test('should reject an unknown sslmode and an unreadable CA file as brand errors', () => {
    assert.throws(() => postgresConnection(`${PG}?sslmode=sometimes`), BrandConfigError)
    assert.throws(() => postgresConnection(`${PG}?sslmode=verify-full&sslrootcert=/nope.pem`),
      (error: unknown) => error instanceof BrandConfigError && /\/nope\.pem/.test(error.message))
  })

  test('should connect to MySQL without TLS unless the URL asks for it', () => {
    assert.equal(mysqlSslOf(MY), false)
    assert.equal(mysqlSslOf(`${MY}?ssl=false`), false)
    assert.equal(mysqlSslOf(`${MY}?ssl-mode=DISABLED`), false)
  })

  test('should encrypt without checks for ssl-mode=REQUIRED', () => {
    assert.deepEqual(mysqlSslOf(`${MY}?ssl-mode=REQUIRED`),
      { rejectUnauthorized: false, verifyIdentity: false })
    assert.deepEqual(mysqlSslOf(`${MY}?sslmode=required`),
      { rejectUnauthorized: false, verifyIdentity: false })
  })

  test('should check the certificate and host name for ssl=true and VERIFY_IDENTITY', () => {
    const verified = { rejectUnauthorized: true, verifyIdentity: true }
    assert.deepEqual(mysqlSslOf(`${MY}?ssl=true`), verified)
    assert.deepEqual(mysqlSslOf(`${MY}?ssl-mode=VERIFY_IDENTITY`), verified)
  })

  test('should check the chain against a CA file given as sslca', () => {
    const ssl = mysqlSslOf(`${MY}?sslca=${ca}`) as Record<string, unknown>

    assert.match(String(ssl.ca), /BEGIN CERTIFICATE/)
    assert.equal(ssl.rejectUnauthorized, true)
    assert.equal(ssl.verifyIdentity, false)
  })

  test('should reject an unknown ssl-mode as a brand error', () => {
    assert.throws(() => mysqlPoolOptions(`${MY}?ssl-mode=MAYBE`, OPTIONS), BrandConfigError)
    assert.throws(() => mysqlPoolOptions(`${MY}?ssl=yes`, OPTIONS), BrandConfigError)
  })
})
