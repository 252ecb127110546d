from django.apps import AppConfig


class PageCacheConfig(AppConfig):
    name = "config.pagecache"
    label = "pagecache"
    verbose_name = "Page cache"

    def ready(self) -> None:
        from . import receivers, restrictions, sites

        receivers.connect()
        restrictions.connect()
        sites.connect()
