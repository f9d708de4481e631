import { test } from 'node:test'
import assert from 'node:assert/strict'
import { maskUrl } from '../../src/commands/check.js'

test('should hide the password of a URL and keep the rest', () => {
  assert.equal(maskUrl('postgres://reader:s3cr%40t@db.example.com:5432/acme'),
    'postgres://reader:***@db.example.com:5432/acme')
  assert.equal(maskUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379')
})

test('should hide query parameters that look secret', () => {
  const masked = maskUrl('postgres://u@h/db?sslmode=require&sslpassword=abc&api_key=def')

  assert.equal(masked, 'postgres://u@h/db?sslmode=require&sslpassword=***&api_key=***')
})

test('should never print a URL it cannot parse', () => {
  assert.equal(maskUrl('postgres://user:pa ss@'), '(not a valid URL)')
})

test('should print no URL whose password could not be told apart', () => {
  assert.equal(maskUrl('postgres:u:PassWd9@127.0.0.1/x'), '(not a valid URL)')
  assert.equal(maskUrl('postgres://u:Pa@ss#Wd9@127.0.0.1/x'), '(not a valid URL)')
})
