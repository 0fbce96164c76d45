/**
 * The Lua scripts of the Redis backplane. Each runs atomically on the server, so a clock, the
 * streams it orders and their trimming watermark always agree, whatever the number of instances.
 * Every key a script touches is in one hash slot, so they run on Redis Cluster too.
 *
 * @module
 */

// Shared helpers. `deleted(key)` is the stream's `max-deleted-entry-id` (Redis 7): the publish
// script sets it, with XSETID, to the newest entry it trimmed, because Redis leaves it alone when
// trimming; it is what tells a client whose last event was trimmed from one who missed some.
const PRELUDE = `
local function parse(id)
  if type(id) ~= 'string' then return nil end
  local ms, seq = string.match(id, '^(%d+)%-(%d+)$')
  if ms == nil or #ms > 15 or #seq > 15 then return nil end
  return {tonumber(ms), tonumber(seq)}
end
local function less(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end
local function fmt(n) return string.format('%.0f', n) end
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function deleted(key)
  local info = redis.call('XINFO', 'STREAM', key)
  for i = 1, #info, 2 do
    if info[i] == 'max-deleted-entry-id' then return parse(info[i + 1]) end
  end
  return nil
end
`;

// KEYS: clock, stream. ARGV: maxEvents, maxAge (-1: none), key ttl (-1: none), trim slack, the
// sequence step and base (1 and 0 on a single Redis; 16384 and the slot on a cluster), the
// doorbell channel ('' for none), a floor ('' for none: the newest id the publishing instance has
// seen from any slot), then the entry's fields. Returns the new id: the server's time in ms, or
// the clock's last ms (or the floor's) if that is later (several publishes in one ms, or a clock
// step back), with the next sequence of this clock above it.
const PUBLISH_LUA = `${PRELUDE}
local time = now()
local clock = parse(redis.call('HGET', KEYS[1], 'last'))
local last = clock
local floor = parse(ARGV[8])
if floor ~= nil and (last == nil or less(last, floor)) then last = floor end
local step, base = tonumber(ARGV[5]), tonumber(ARGV[6])
local ms, seq = time, base
if last ~= nil and last[1] >= time then
  ms = last[1]
  seq = last[2] - (last[2] % step) + base
  if seq <= last[2] then seq = seq + step end
end
local id = fmt(ms) .. '-' .. fmt(seq)
redis.call('XADD', KEYS[2], id, unpack(ARGV, 9))
redis.call('HSET', KEYS[1], 'last', id)
if clock == nil then redis.call('HSETNX', KEYS[1], 'epoch', id) end
local trimmed = nil
local maxAge = tonumber(ARGV[2])
if maxAge >= 0 then
  -- Entries of up to time - maxAge have expired. The oldest is looked at first: the reverse
  -- search for the newest expired one scans the whole stream when there is none.
  local limit = time - maxAge
  local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
  if first and parse(first[1])[1] <= limit then
    local bound = fmt(limit + 1) .. '-0'
    trimmed = redis.call('XREVRANGE', KEYS[2], '(' .. bound, '-', 'COUNT', 1)[1][1]
    redis.call('XTRIM', KEYS[2], 'MINID', bound)
  end
end
local maxEvents = tonumber(ARGV[1])
local length = redis.call('XLEN', KEYS[2])
if length > maxEvents + tonumber(ARGV[4]) then
  local excess = length - maxEvents
  local old = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', excess)
  redis.call('XTRIM', KEYS[2], 'MAXLEN', maxEvents)
  trimmed = old[excess][1]
end
if trimmed ~= nil then redis.call('XSETID', KEYS[2], id, 'MAXDELETEDID', trimmed) end
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
if ARGV[7] ~= '' then redis.call('SPUBLISH', ARGV[7], id) end
return id
`;

// KEYS: clock, then the topics' streams. ARGV: the id, maxAge (-1: none), key ttl (-1: none), and
// '1' when the id was issued by this clock ('0': another cluster slot's id, a point in time only,
// so the clock's bounds do not apply to it). Returns {'ok', '', entries of each stream…} or {'gone', newest retained id or ''}.
const HISTORY_LUA = `${PRELUDE}
local time = now()
local maxAge = tonumber(ARGV[2])
local function expired(p) return maxAge >= 0 and p[1] <= time - maxAge end
local function gone()
  local newest, newestId = nil, ''
  for i = 2, #KEYS do
    local e = redis.call('XREVRANGE', KEYS[i], '+', '-', 'COUNT', 1)[1]
    if e then
      local p = parse(e[1])
      if p ~= nil and not expired(p) and (newest == nil or less(newest, p)) then newest = p; newestId = e[1] end
    end
  end
  return {'gone', newestId}
end
local after = parse(ARGV[1])
local clock = redis.call('HMGET', KEYS[1], 'epoch', 'last')
local epoch, last = parse(clock[1]), parse(clock[2])
if after == nil then return gone() end
if ARGV[4] == '1' and (epoch == nil or last == nil or less(after, epoch) or less(last, after)) then return gone() end
local ttl = tonumber(ARGV[3])
local result = {'ok', ''}
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    if ttl > 0 and after[1] <= time - ttl then return gone() end
    result[#result + 1] = {}
  else
    local trimmed = deleted(KEYS[i])
    if trimmed ~= nil and less(after, trimmed) then return gone() end
    local entries = redis.call('XRANGE', KEYS[i], '(' .. ARGV[1], '+')
    if entries[1] and expired(parse(entries[1][1])) then return gone() end
    result[#result + 1] = entries
  end
end
return result
`;

// KEYS: clock, then streams to check. ARGV: the reader's position in each of those streams,
// prefixed with '=' when it is an entry the reader delivered, which must then still be there.
// Returns {epoch or '', last id or '', then for each stream 1 if it was trimmed past the position,
// 2 if the delivered entry is gone without a trim (Redis lost it: a failover), else 0}. (A clock
// behind a position also means Redis lost acknowledged events: the caller compares.)
const CHECK_LUA = `${PRELUDE}
local clock = redis.call('HMGET', KEYS[1], 'epoch', 'last')
local result = {clock[1] or '', clock[2] or ''}
for i = 2, #KEYS do
  local lost = 0
  local text = ARGV[i - 1]
  local exact = string.sub(text, 1, 1) == '='
  if exact then text = string.sub(text, 2) end
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local trimmed, position = deleted(KEYS[i]), parse(text)
    if trimmed ~= nil and position ~= nil and less(position, trimmed) then lost = 1
    elseif exact and position ~= nil and (trimmed == nil or less(trimmed, position)) and #redis.call('XRANGE', KEYS[i], text, text) == 0 then lost = 2 end
  end
  result[#result + 1] = lost
end
return result
`;

// KEYS: clock. ARGV: an id. Moves the clock up to the id if it is behind (after a failover lost
// events that a reader had delivered), so that no id is issued twice. Returns 1 if it moved.
const ADVANCE_LUA = `${PRELUDE}
local last, to = parse(redis.call('HGET', KEYS[1], 'last')), parse(ARGV[1])
if to == nil or (last ~= nil and not less(last, to)) then return 0 end
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
return 1
`;

/** A script run by its SHA-1 (`EVALSHA`), sent again (`EVAL`) when Redis has forgotten it. */
export class Script {
  sha: string | undefined;
  #pending: Promise<string> | undefined;
  constructor(readonly source: string) {}

  /** The SHA-1 of the source, for EVALSHA; computed once, with Web Crypto. */
  digest(): string | Promise<string> {
    if (this.sha !== undefined) return this.sha;
    this.#pending ??= crypto.subtle.digest("SHA-1", new TextEncoder().encode(this.source)).then((buffer) => {
      let hex = "";
      for (const byte of new Uint8Array(buffer)) hex += byte.toString(16).padStart(2, "0");
      this.sha = hex;
      return hex;
    });
    return this.#pending;
  }
}

export const PUBLISH: Script = new Script(PUBLISH_LUA);
export const HISTORY: Script = new Script(HISTORY_LUA);
export const CHECK: Script = new Script(CHECK_LUA);
export const ADVANCE: Script = new Script(ADVANCE_LUA);

/** Sends a command and resolves with its reply. */
export type Call = (command: string, ...args: (string | number)[]) => Promise<unknown>;

function isNoScript(error: unknown): boolean {
  return (error instanceof Error ? error.message : String(error)).startsWith("NOSCRIPT");
}

/** Runs a script with `EVALSHA`, falling back to `EVAL` (Redis forgets scripts when it restarts). */
export async function evalScript(
  call: Call,
  script: Script,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const sha = script.sha ?? (await script.digest());
  try {
    return await call("EVALSHA", sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return await call("EVAL", script.source, keys.length, ...keys, ...args);
  }
}
