-- KEYS: unacked, unacked_index, destination list. ARGV: tag, envelope.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('RPUSH', KEYS[3], ARGV[2])
  return 1
end
redis.call('ZREM', KEYS[2], ARGV[1])
return 0
