"""The shared cache on Redis, which degrades to a per-process cache when Redis is away.

What lives in the cache can be lost: rate-limit counters (allauth's, the lost-code
form's) and reference data that is rebuilt from the database (the profession ×
document-type matrix). So a Redis outage must never turn into an error page:

- every operation that cannot reach Redis (refused, timed out, reset) is answered
  by a per-process `LocMemCache` instead, and the error is logged, once when the
  outage starts, then at most once a minute, then when Redis is back;
- after a failure, Redis is left alone for `RETRY_AFTER` seconds (default 5), so a
  dead or unreachable server costs one short connect timeout, not one per operation;
- writes that Redis missed during the outage (a changed matrix token, a counter)
  are deleted from Redis when it comes back, so no value older than the outage is
  served afterwards; the per-process copy is then emptied.

Short connect and read timeouts are the default (`socket_connect_timeout` 0.5 s,
`socket_timeout` 1 s), so a server that does not answer does not hang requests.
Django's own errors (`incr` of a missing key) are raised as usual.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Refused, timed out, reset, a failover's READONLY or LOADING, something else on the port:
# whatever Redis answers that is not a value, the request goes on without it.
OUTAGE_ERRORS = (RedisError, OSError)
# A bound on the keys remembered for deletion on recovery: past it, the oldest are dropped.
MAX_LOST_WRITES = 10_000
LOG_EVERY = 60.0


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        self.retry_after = float(options.pop("RETRY_AFTER", 5.0))
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 1.0)
        params["OPTIONS"] = options
        super().__init__(server, params)
        fallback_params = {k: v for k, v in params.items() if k != "OPTIONS"}
        fallback_params["OPTIONS"] = {"MAX_ENTRIES": 10_000}
        self.fallback = LocMemCache(f"espace-sante-fallback-{id(self)}", fallback_params)
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._errors = 0
        self._logged_at = 0.0
        self._lost: dict[str, None] = {}  # made keys Redis missed, in order

    @property
    def degraded(self) -> bool:
        """Whether Redis is considered unreachable right now (answers come from this process)."""
        return self._down_since is not None

    # --- The outage state ---------------------------------------------------------------

    def _remember_lost(self, keys) -> None:
        # Under self._lock. Most recent last, so the oldest are the ones dropped.
        for key in keys:
            self._lost.pop(key, None)
            self._lost[key] = None
        while len(self._lost) > MAX_LOST_WRITES:
            self._lost.pop(next(iter(self._lost)))

    def _failed(self, operation: str, error: Exception, lost_keys=()) -> None:
        now = time.monotonic()
        with self._lock:
            self._remember_lost(lost_keys)
            self._retry_at = now + self.retry_after
            if self._down_since is None:
                self._down_since = self._logged_at = now
                self._errors = 1
                logger.error(
                    "Cache Redis injoignable (%s : %s) : repli sur le cache du processus",
                    operation,
                    error,
                )
                return
            self._errors += 1
            if now - self._logged_at >= LOG_EVERY:
                self._logged_at = now
                logger.error(
                    "Cache Redis toujours injoignable depuis %.0f s (%d erreurs) : %s",
                    now - self._down_since,
                    self._errors,
                    error,
                )

    def _recover(self) -> bool:
        """Back from an outage: first delete from Redis what it missed, then use it again.

        False when another thread has just found Redis still away; raises an outage
        error when Redis is still away.
        """
        with self._lock:
            if self._down_since is None:
                return True
            if time.monotonic() < self._retry_at:
                return False
            lost = list(self._lost)
            if lost:
                self._cache.delete_many(lost)
            else:
                self._cache.get_client(write=True).ping()
            logger.warning(
                "Cache Redis de nouveau joignable après %.0f s (%d écritures manquées effacées)",
                time.monotonic() - self._down_since,
                len(lost),
            )
            self._down_since = None
            self._lost.clear()
        self.fallback.clear()
        return True

    def _call(self, operation: str, redis_call, fallback_call, lost_keys=()):
        """Ask Redis; on an outage, record the keys it missed and answer from this process."""
        if self._down_since is None or time.monotonic() >= self._retry_at:
            try:
                if self._recover():
                    return redis_call()
            except OUTAGE_ERRORS as error:
                self._failed(operation, error, lost_keys)
                return fallback_call()
        if lost_keys:
            with self._lock:
                self._remember_lost(lost_keys)
        return fallback_call()

    def _made(self, keys, version):
        return [self.make_and_validate_key(key, version=version) for key in keys]

    # --- The cache API --------------------------------------------------------------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(
            "add",
            lambda: super(ResilientRedisCache, self).add(key, value, timeout, version),
            lambda: self.fallback.add(key, value, timeout, version),
            self._made([key], version),
        )

    def get(self, key, default=None, version=None):
        return self._call(
            "get",
            lambda: super(ResilientRedisCache, self).get(key, default, version),
            lambda: self.fallback.get(key, default, version),
        )

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(
            "set",
            lambda: super(ResilientRedisCache, self).set(key, value, timeout, version),
            lambda: self.fallback.set(key, value, timeout, version),
            self._made([key], version),
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(
            "touch",
            lambda: super(ResilientRedisCache, self).touch(key, timeout, version),
            lambda: self.fallback.touch(key, timeout, version),
            self._made([key], version),
        )

    def delete(self, key, version=None):
        return self._call(
            "delete",
            lambda: super(ResilientRedisCache, self).delete(key, version),
            lambda: self.fallback.delete(key, version),
            self._made([key], version),
        )

    def get_many(self, keys, version=None):
        return self._call(
            "get_many",
            lambda: super(ResilientRedisCache, self).get_many(keys, version),
            lambda: self.fallback.get_many(keys, version),
        )

    def has_key(self, key, version=None):
        return self._call(
            "has_key",
            lambda: super(ResilientRedisCache, self).has_key(key, version),
            lambda: self.fallback.has_key(key, version),
        )

    def incr(self, key, delta=1, version=None):
        return self._call(
            "incr",
            lambda: super(ResilientRedisCache, self).incr(key, delta, version),
            lambda: self.fallback.incr(key, delta, version),
            self._made([key], version),
        )

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(
            "set_many",
            lambda: super(ResilientRedisCache, self).set_many(data, timeout, version),
            lambda: self.fallback.set_many(data, timeout, version),
            self._made(list(data), version),
        )

    def delete_many(self, keys, version=None):
        return self._call(
            "delete_many",
            lambda: super(ResilientRedisCache, self).delete_many(keys, version),
            lambda: self.fallback.delete_many(keys, version),
            self._made(list(keys), version),
        )

    def clear(self):
        self.fallback.clear()
        return self._call("clear", lambda: super(ResilientRedisCache, self).clear(), lambda: True)
