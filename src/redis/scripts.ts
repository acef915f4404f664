import { createHash } from 'node:crypto';

/**
 * The Lua scripts of the Redis identify queue. Each runs atomically inside Redis, so every process
 * sees one order of grants: the check of the bucket's lease, of the line and of the budget, and the
 * spending of both, happen as one step.
 *
 * Keys (all share the `{prefix}` hash tag, so one script's keys live on one cluster slot):
 *   KEYS[1] line    sorted set: ticket → number taken at arrival (the order of service)
 *   KEYS[2] seen    hash: ticket → Redis time (ms) of its last attempt; a ticket not seen for
 *                   ticketTtl is a waiter that died, and is dropped when it reaches the head
 *   KEYS[3] counter string: the last ticket number handed out in this bucket
 *   KEYS[4] lease   string with PX window: present while the bucket may not identify
 *   KEYS[5] budget  string counter with PX until the budget resets
 *   KEYS[6] epoch   string: present while the budget has been seeded recently, so that a counter
 *                   that expired (a reset) is refilled to `total`, not to the stale `remaining`
 */

/** ARGV: ticket, windowMs, remaining, resetAfterMs, total, resetIntervalMs, ticketTtlMs, attempt (unique per call) */
export const attemptScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ticket = ARGV[1]
local window = tonumber(ARGV[2])
local remaining = tonumber(ARGV[3])
local resetAfter = tonumber(ARGV[4])
local total = tonumber(ARGV[5])
local interval = tonumber(ARGV[6])
local ticketTtl = tonumber(ARGV[7])

if not redis.call('ZSCORE', KEYS[1], ticket) then
  redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[3]), ticket)
end
redis.call('HSET', KEYS[2], ticket, now)
for _, key in ipairs({KEYS[1], KEYS[2], KEYS[3]}) do redis.call('PEXPIRE', key, ticketTtl * 4) end

local head
while true do
  head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if head == ticket then break end
  local seenAt = tonumber(redis.call('HGET', KEYS[2], head) or '0')
  if now - seenAt <= ticketTtl then break end
  redis.call('ZREM', KEYS[1], head)
  redis.call('HDEL', KEYS[2], head)
end
-- Waiters behind the head, or held by the lease, still learn that the budget is spent.
local spentFor = -1
local known = redis.call('GET', KEYS[5])
if known and tonumber(known) <= 0 then spentFor = math.max(0, redis.call('PTTL', KEYS[5])) end
if head ~= ticket then
  return {0, redis.call('ZRANK', KEYS[1], ticket), now, spentFor}
end

local leaseLeft = redis.call('PTTL', KEYS[4])
if leaseLeft > 0 then return {1, leaseLeft, now, spentFor} end

local budget = redis.call('GET', KEYS[5])
if not budget then
  if redis.call('EXISTS', KEYS[6]) == 1 then
    budget = total
    redis.call('SET', KEYS[5], total, 'PX', math.max(1, interval))
  else
    budget = remaining
    redis.call('SET', KEYS[5], remaining, 'PX', math.max(1, resetAfter))
  end
  redis.call('SET', KEYS[6], '1', 'PX', math.max(1, resetAfter) + interval * 2)
end
if tonumber(budget) <= 0 then
  local left = math.max(0, redis.call('PTTL', KEYS[5]))
  return {2, left, now, left}
end

local left = redis.call('DECR', KEYS[5])
-- The lease names the call that won it and the budget period it was paid from (for a refund).
redis.call('SET', KEYS[4], ARGV[8] .. '|' .. (now + redis.call('PTTL', KEYS[5])), 'PX', window)
redis.call('ZREM', KEYS[1], ticket)
redis.call('HDEL', KEYS[2], ticket)
return {3, left, now, -1}
`;

/** A waiter leaves the line (its wait was aborted). KEYS[1] line, KEYS[2] seen; ARGV: ticket */
export const leaveScript = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`;

/**
 * A grant nobody will use (its wait was aborted while the grant was on its way): the bucket is
 * freed, and the budget given back only if it is still the same budget period (a counter that
 * was reset meanwhile owes nothing). Only that call's own lease is touched, never a later grant's.
 * KEYS[1] lease, KEYS[2] budget; ARGV: the attempt that was granted
 */
export const refundScript = `
local lease = redis.call('GET', KEYS[1])
if not lease then return 0 end
local sep = string.find(lease, '|', 1, true)
if not sep or string.sub(lease, 1, sep - 1) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local left = redis.call('PTTL', KEYS[2])
if left > 0 and math.abs(now + left - tonumber(string.sub(lease, sep + 1))) <= 2 then
  redis.call('INCR', KEYS[2])
  return 2
end
return 1
`;

export interface LuaScript {
  source: string;
  sha: string;
}

export const script = (source: string): LuaScript => ({ source, sha: createHash('sha1').update(source).digest('hex') });
