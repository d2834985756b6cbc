-- KEYS: a chord's ".j", ".t" and ".s" keys. ARGV: this part's member, its score (the group
-- index, or +inf), the result expiry in seconds (0: none). Adds the part as Celery's Redis
-- backend does (ZADD, then the count against size + added parts, every key's expiry renewed)
-- in one script, so of two parts finishing together exactly one sees the chord complete.
-- Returns {1, {every member in header order}} to that part, {0} to the others.
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local ready = redis.call('ZCOUNT', KEYS[1], '-inf', '+inf')
local added = tonumber(redis.call('GET', KEYS[2])) or 0
local size = tonumber(redis.call('GET', KEYS[3]))
if tonumber(ARGV[3]) > 0 then
  for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[3]) end
end
if size ~= nil and ready == size + added then
  return {1, redis.call('ZRANGE', KEYS[1], 0, -1)}
end
return {0}
