/**
 * Frees a lock only for the token that holds it, in one atomic step: a GET then a DEL
 * from the client could free a lock that expired and was taken by another instance
 * between the two.
 */
export const UNLOCK_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`
