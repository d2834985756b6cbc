-- KEYS: unacked_mutex. ARGV: the token it was set with. Deletes it only while it still holds that
-- token, so a worker never releases a mutex another has taken since.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
