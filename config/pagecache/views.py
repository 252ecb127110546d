"""What the views behind ``{% action_form %}`` buttons wear (see templatetags/pagecache_tags.py)."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.csrf import csrf_protect


def csrf_when_signed_in(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Check the CSRF token of a signed-in visitor; let an anonymous one through without it.

    Only for views whose anonymous path changes nothing and sends the visitor to sign in
    (there is nothing to forge for someone who is nobody): the cached anonymous page has no
    token to send. A signed-in visitor's page has one and it is checked as usual.
    """
    protected = csrf_protect(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.user.is_authenticated:
            return protected(request, *args, **kwargs)
        return view(request, *args, **kwargs)

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper
