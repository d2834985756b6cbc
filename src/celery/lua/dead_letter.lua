-- KEYS: unacked, unacked_index, dead list. ARGV: tag, record.
redis.call('LPUSH', KEYS[3], ARGV[2])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
