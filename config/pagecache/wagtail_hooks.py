"""Every page Wagtail serves may be stored for anonymous visitors; the middleware still refuses
what is private, not a 200, or sets a cookie (see the package docstring)."""

from wagtail import hooks

from . import core


@hooks.register("before_serve_page")
def mark_page_cacheable(page, request, serve_args, serve_kwargs):
    core.cacheable(request)
