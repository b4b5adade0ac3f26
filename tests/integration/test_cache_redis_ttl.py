"""--cache-ttl below one second on the Redis backend: the entries must still expire (Redis EX counts whole seconds)."""

from __future__ import annotations

import time

from tests.integration.test_cache_redis import BLOB, redis_url  # noqa: F401 - the redis-server fixture

from vigil.cache import RedisCache


def test_sub_second_ttl_still_expires(redis_url: str) -> None:  # noqa: F811
    cache = RedisCache(redis_url, ttl=0.5, prefix="vigil:ttl-test:")
    try:
        cache.put("k", BLOB)
        assert cache.get("k") == BLOB
        assert 0 < cache._r.ttl("vigil:ttl-test:k") <= 1  # type: ignore[operator]  # -1 would mean "never"
        time.sleep(1.2)
        assert cache.get("k") is None and cache.missing(["k"]) == ["k"]
    finally:
        cache.clear()
        cache.close()
