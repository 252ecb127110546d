"""config.cache.RedisCache: Django's Redis backend with one client per connection pool."""

from django.core.cache import caches
from django.test import override_settings

from config.cache import RedisCache


def test_the_redis_backend_keeps_one_client_and_still_reads_and_writes(settings):
    location = settings.CACHES["pages"]["LOCATION"]
    with override_settings(
        CACHES={
            **settings.CACHES,
            "kept-client": {"BACKEND": "config.cache.RedisCache", "LOCATION": location},
        }
    ):
        cache = caches["kept-client"]
        assert isinstance(cache, RedisCache)
        client = cache._cache.get_client()
        assert cache._cache.get_client(write=True) is client

        cache.set("config-cache-test", {"a": 1}, timeout=30)
        assert cache.get("config-cache-test") == {"a": 1}
        assert cache.get_many(["config-cache-test", "absent"]) == {"config-cache-test": {"a": 1}}
        cache.delete("config-cache-test")
        assert cache.get("config-cache-test") is None
