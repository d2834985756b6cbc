-- KEYS: unacked, unacked_index. ARGV: backend db, broker db, result expiry, then per task:
--   result key, record ('' stores nothing), delivery tag,
--   n, n x (key, record)                                    further results (a failed chain)
--                                                           and values (a chord's size)
--   n, n x (binding key, binding member, queue key, envelope) messages to publish ('' binding
--                                                           key: none), e.g. a retry
--   n, n x guard key                                        a finished chord's keys
--   n, n x (result key, record), n, n x (4 as above)        written only if deleting the
--                                                           guard keys removed one: once
-- SELECT inside a script switches only the script's database.
local tasks = {}
local at = 4
local function take(width)
  local n = tonumber(ARGV[at])
  local items = {}
  for i = 1, n * width do items[i] = ARGV[at + i] end
  at = at + 1 + n * width
  return items
end
while at <= #ARGV do
  local task = {key = ARGV[at], record = ARGV[at + 1], tag = ARGV[at + 2]}
  at = at + 3
  task.records = take(2)
  task.publishes = take(4)
  task.guard = take(1)
  task.guarded_records = take(2)
  task.guarded_publishes = take(4)
  tasks[#tasks + 1] = task
end
local function store(key, record)
  redis.call('SETEX', key, ARGV[3], record)
  redis.call('PUBLISH', key, record)
end
local function publish(items)
  for i = 1, #items, 4 do
    if items[i] ~= '' then redis.call('SADD', items[i], items[i + 1]) end
    redis.call('LPUSH', items[i + 2], items[i + 3])
  end
end
redis.call('SELECT', ARGV[1])
for _, task in ipairs(tasks) do
  if task.record ~= '' then store(task.key, task.record) end
  for i = 1, #task.records, 2 do store(task.records[i], task.records[i + 1]) end
  task.claimed = #task.guard > 0 and redis.call('DEL', unpack(task.guard)) > 0
  if task.claimed then
    for i = 1, #task.guarded_records, 2 do
      store(task.guarded_records[i], task.guarded_records[i + 1])
    end
  end
end
redis.call('SELECT', ARGV[2])
for _, task in ipairs(tasks) do
  publish(task.publishes)
  if task.claimed then publish(task.guarded_publishes) end
  redis.call('HDEL', KEYS[1], task.tag)
  redis.call('ZREM', KEYS[2], task.tag)
end
return #tasks
