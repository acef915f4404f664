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
 *   KEYS[4] lease   string `ticket|periodEnd` with PX window: present while the bucket may not
 *                   identify; it names the ticket that won it and the budget period that paid.
 *                   A reservation's lease is `ticket|periodEnd|held` with PX hold + window until
 *                   its IDENTIFY goes out (turnSentScript), and then a plain one with PX window
 *   KEYS[5] budget  string counter, seeded from a fresh `session_start_limit` with PX until
 *                   Discord's reset; absent before the first read, after a reset, or once Redis
 *                   lost it, and then never refilled by assumption: it is read again
 *   KEYS[6] reader  string with PX: the process that reads the budget while the counter is absent
 */

/**
 * ARGV: ticket, lease (ms: the padded window, or for a reservation its hold plus the padded
 * window), ticketTtl, processTag, readerTtl, seedRemaining (-1: none), seedPx (ms until the seed's
 * snapshot resets), held (1: a reservation, whose lease is marked held). A seed fills a missing
 * count whatever the caller's place in line, and never replaces a count that exists.
 *
 * Replies {code, value, now, spentFor, held}: 0 in line (value: rank), 1 cooling (value: lease ms
 * left; held 1 while the lease is a reservation that may end early), 2 budget spent (value: ms to
 * reset), 3 granted (value: budget left), 4 budget unknown (value: 1 if this process is to read
 * it, else 0). spentFor ≥ 0 whenever the budget is known to be spent.
 */
export const attemptScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ticket = ARGV[1]
local window = tonumber(ARGV[2])
local ticketTtl = tonumber(ARGV[3])

-- An earlier call of this ticket may have won the lease although its answer never came back (a
-- client-side timeout, a dropped connection, a resent command). That grant is this ticket's: it is
-- used, not paid again, and its lease (a reservation's hold and window) starts over now, when it is
-- used.
local lease = redis.call('GET', KEYS[4])
if lease and string.sub(lease, 1, #ticket + 1) == ticket .. '|' then
  redis.call('SET', KEYS[4], lease, 'PX', window)
  redis.call('ZREM', KEYS[1], ticket)
  redis.call('HDEL', KEYS[2], ticket)
  return {3, tonumber(redis.call('GET', KEYS[5]) or '0'), now, -1}
end

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
local budget = redis.call('GET', KEYS[5])
local seedRemaining = tonumber(ARGV[6])
if not budget and seedRemaining >= 0 then
  budget = ARGV[6]
  redis.call('SET', KEYS[5], seedRemaining, 'PX', tonumber(ARGV[7]))
  redis.call('DEL', KEYS[6])
end
-- Waiters behind the head, or held by the lease, still learn that the budget is spent.
local spentFor = -1
if budget and tonumber(budget) <= 0 then spentFor = math.max(0, redis.call('PTTL', KEYS[5])) end
if head ~= ticket then
  return {0, redis.call('ZRANK', KEYS[1], ticket), now, spentFor}
end

local leaseLeft = redis.call('PTTL', KEYS[4])
if leaseLeft > 0 then
  -- A reservation's lease ends early once its IDENTIFY went out (or none will): worth asking again.
  local held = string.sub(redis.call('GET', KEYS[4]) or '', -5) == '|held' and 1 or 0
  return {1, leaseLeft, now, spentFor, held}
end

if not budget then
  -- One process reads the budget at a time; the others wait for its seed.
  local reader = redis.call('GET', KEYS[6])
  if reader and reader ~= ARGV[4] then return {4, 0, now, -1} end
  redis.call('SET', KEYS[6], ARGV[4], 'PX', tonumber(ARGV[5]))
  return {4, 1, now, -1}
end
if tonumber(budget) <= 0 then
  local left = math.max(0, redis.call('PTTL', KEYS[5]))
  return {2, left, now, left}
end

local left = redis.call('DECR', KEYS[5])
local leaseValue = ticket .. '|' .. (now + redis.call('PTTL', KEYS[5]))
if ARGV[8] == '1' then leaseValue = leaseValue .. '|held' end
redis.call('SET', KEYS[4], leaseValue, 'PX', window)
redis.call('ZREM', KEYS[1], ticket)
redis.call('HDEL', KEYS[2], ticket)
return {3, left, now, -1}
`;

/**
 * A waiter that will not identify (its wait was aborted, perhaps while a grant was on its way, or
 * its reservation was given back before any IDENTIFY went out) leaves the line; if its ticket
 * holds the lease, the bucket is freed and the budget given back,
 * but only if it is still the same budget period (a counter that was reset meanwhile owes
 * nothing). Only that ticket's own lease is touched, never a later grant's.
 * KEYS[1] line, KEYS[2] seen, KEYS[3] lease, KEYS[4] budget; ARGV: ticket
 */
export const releaseScript = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
local lease = redis.call('GET', KEYS[3])
if not lease then return 0 end
local owner, periodEnd = string.match(lease, '^([^|]*)|(%d+)')
if owner ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local left = redis.call('PTTL', KEYS[4])
if left > 0 and math.abs(now + left - tonumber(periodEnd)) <= 2 then
  redis.call('INCR', KEYS[4])
  return 2
end
return 1
`;

/**
 * A reservation's IDENTIFY went out: if the lease is still this ticket's, the bucket's window runs
 * from now (Redis time), in place of the hold. A lease that ran out or is another's is left alone,
 * so a late or repeated call never frees a bucket early.
 * KEYS[1] lease; ARGV: ticket, window (ms, padded)
 */
export const turnSentScript = `
local lease = redis.call('GET', KEYS[1])
if not lease then return 0 end
local owner, periodEnd = string.match(lease, '^([^|]*)|(%d+)')
if owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], owner .. '|' .. periodEnd, 'PX', tonumber(ARGV[2]))
return 1
`;

export interface LuaScript {
  source: string;
  sha: string;
}

export const script = (source: string): LuaScript => ({ source, sha: createHash('sha1').update(source).digest('hex') });
