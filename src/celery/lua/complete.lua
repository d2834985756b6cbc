-- KEYS: unacked, unacked_index. ARGV: backend db, broker db, result expiry, then five per task:
-- result key, record ('' stores nothing), delivery tag, retry envelope ('' for none), retry
-- queue. SELECT inside a script switches only the script's database.
local count = (#ARGV - 3) / 5
redis.call('SELECT', ARGV[1])
for i = 0, count - 1 do
  local at = 4 + i * 5
  if ARGV[at + 1] ~= '' then
    redis.call('SETEX', ARGV[at], ARGV[3], ARGV[at + 1])
    redis.call('PUBLISH', ARGV[at], ARGV[at + 1])
  end
end
redis.call('SELECT', ARGV[2])
for i = 0, count - 1 do
  local at = 4 + i * 5
  if ARGV[at + 3] ~= '' then redis.call('LPUSH', ARGV[at + 4], ARGV[at + 3]) end
  redis.call('HDEL', KEYS[1], ARGV[at + 2])
  redis.call('ZREM', KEYS[2], ARGV[at + 2])
end
return count
