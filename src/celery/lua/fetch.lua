-- KEYS: unacked, unacked_index, dead-letter list (unused here), queue lists in priority order.
-- ARGV: now, most messages to take, a unique token. Returns a flat list of (list, envelope, tag)
-- triples. The unacked entry is kombu's '[<envelope>, "<exchange>", "<routing key>"]', built from
-- the original bytes so the envelope is stored exactly as it was sent.

-- The value of the first '"name": "value"' in raw: a plain find, then a match anchored there.
-- Reading three fields this way costs far less of Redis's one thread than decoding the envelope
-- (or scanning it with unanchored patterns); the worker parses and validates it fully later.
local function field(raw, name)
  local from = 1
  while true do
    local _, last = string.find(raw, name, from, true)
    if not last then return nil end
    local value = string.match(raw, '^%s*:%s*"([^"\\]*)"', last + 1)
    if value then return value end
    from = last + 1
  end
end
local taken = {}
local limit = tonumber(ARGV[2])
for i = 4, #KEYS do
  while #taken < limit * 3 do
    local raw = redis.call('RPOP', KEYS[i])
    if not raw then break end
    local tag = field(raw, '"delivery_tag"')
    if not tag or tag == '' then
      -- Not a Celery envelope: registered under a tag of our own all the same, so it is safe
      -- until the worker has moved it to the dead-letter list.
      tag = 'october-malformed-' .. ARGV[3] .. '-' .. #taken
    end
    -- Values read by field() hold no quote or backslash (its pattern stops there), so quoting
    -- them is their JSON form; the fallback queue name goes through the encoder.
    local exchange = '"' .. (field(raw, '"exchange"') or '') .. '"'
    local routing_key = field(raw, '"routing_key"')
    routing_key = routing_key and ('"' .. routing_key .. '"') or cjson.encode(KEYS[4])
    redis.call('ZADD', KEYS[2], ARGV[1], tag)
    redis.call('HSET', KEYS[1], tag, '[' .. raw .. ', ' .. exchange .. ', ' .. routing_key .. ']')
    taken[#taken + 1] = KEYS[i]
    taken[#taken + 1] = raw
    taken[#taken + 1] = tag
  end
end
return taken
