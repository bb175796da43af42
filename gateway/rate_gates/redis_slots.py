"""Rate-gate slots in Redis: one atomic Lua script per reservation
(docs/architecture.md, "Shared rate limits")."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.rate_gates.slots import Request, Slot, micros, row_name

# KEYS[1]: the key's next free time; KEYS[2]: the grid's prefix (a grid slot
# is the key "<prefix>:<index>", set once). ARGV: key and grid spacing in
# microseconds, 0 for none. Redis's TIME is the one clock, so hosts with
# skewed clocks still agree. Times are Unix microseconds; every key lapses a
# second after its time has passed.
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local key_us = tonumber(ARGV[1])
local grid_us = tonumber(ARGV[2])
local slot = now
if key_us > 0 then
  local v = tonumber(redis.call('GET', KEYS[1]) or '0')
  if v > slot then slot = v end
end
if grid_us > 0 then
  local index = math.ceil(slot / grid_us)
  while true do
    local at = index * grid_us
    local ttl = math.ceil((at - now) / 1000) + 1000
    if redis.call('SET', KEYS[2] .. ':' .. string.format('%.0f', index), '1',
                  'NX', 'PX', ttl) then
      break
    end
    index = index + 1
  end
  if index * grid_us > slot then slot = index * grid_us end
end
if key_us > 0 then
  local free = slot + key_us
  redis.call('SET', KEYS[1], string.format('%.0f', free),
             'PX', math.ceil((free - now) / 1000) + 1000)
end
return {string.format('%.0f', slot), string.format('%.0f', now)}
"""


class RedisSlots:
    """Slots in Redis, reserved by one atomic Lua script (docs/architecture.md, "Shared rate limits").

    ``client`` is a ``redis.asyncio.Redis``; its socket timeouts bound a
    reservation when Redis hangs. Raises ``redis.exceptions.RedisError`` (or
    ``OSError``/``TimeoutError``) when Redis cannot be reached.
    """

    def __init__(self, client: Redis, *, namespace: str = "aduan:") -> None:
        self._client = client
        self._namespace = namespace
        self._script = client.register_script(_RESERVE_LUA)

    async def reserve(self, request: Request) -> Slot:
        """See :meth:`SlotBook.reserve`."""
        keys = [
            self._namespace + row_name(request.key or "-"),
            self._namespace + row_name(request.grid or "-"),
        ]
        args = [
            micros(request.key_seconds) if request.key else 0,
            micros(request.grid_seconds) if request.grid else 0,
        ]
        slot, now = await self._script(keys=keys, args=args)
        at, at_now = int(slot), int(now)
        return Slot(at=at / 1_000_000, delay=(at - at_now) / 1_000_000)

    async def close(self) -> None:
        """Close the Redis connections."""
        await self._client.aclose()


def redis_errors() -> tuple[type[BaseException], ...]:
    """What a Redis call raises when Redis cannot be reached or answer."""
    return (RedisError, OSError, TimeoutError)


def redis_client(url: str, *, timeout: float = 1.0) -> Any:
    """A ``redis.asyncio.Redis`` for ``url`` whose connects and commands give up
    after ``timeout`` seconds (it connects on first use)."""
    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
