"""Uploads on S3-compatible object storage (settings in config/settings/base.py, docs/deploy.md).

Two kinds of file, two storages on one bucket:

- private (the default storage): documents (a lesson's downloads) and original images. Never
  public; a document is handed out by Wagtail's serve view, after the access check in
  courses/wagtail_hooks.py, as a redirect to a presigned URL that works for a short while
  (``querystring_expire`` seconds). We redirect rather than stream through Django so that a
  10 MB download does not hold a web worker for its whole transfer.
- public (``public_media``): image renditions, the only images that pages and e-mails show, with
  long cache lifetimes: a rendition's file name changes whenever its image or filter does.
"""

from typing import Any
from urllib.parse import urlsplit

PUBLIC_CACHE_CONTROL = "public, max-age=31536000, immutable"


def s3_storages(
    *,
    bucket: str,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    querystring_expire: int = 120,
    public_acl: str | None = "public-read",
    custom_domain: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The ``default`` (private) and ``public_media`` entries of ``STORAGES``."""
    common: dict[str, Any] = {
        "bucket_name": bucket,
        # None for AWS itself; the API URL of any other S3-compatible service (or moto).
        "endpoint_url": endpoint_url or None,
        "region_name": region or None,
        # None: boto3 finds credentials itself (instance role, ~/.aws, AWS_* variables).
        "access_key": access_key or None,
        "secret_key": secret_key or None,
        "file_overwrite": False,
    }
    return {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                **common,
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": querystring_expire,
            },
        },
        "public_media": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                **common,
                # None when the bucket refuses ACLs (S3's "bucket owner enforced"): then make the
                # images/ prefix public with a bucket policy instead (docs/deploy.md).
                "default_acl": public_acl or None,
                "querystring_auth": False,
                # A CDN or the bucket's public host name for rendition URLs, if not the API's.
                "custom_domain": custom_domain or None,
                "object_parameters": {"CacheControl": PUBLIC_CACHE_CONTROL},
            },
        },
    }


def public_media_origins(
    *, bucket: str, endpoint_url: str = "", region: str = "", custom_domain: str = ""
) -> list[str]:
    """Where public renditions are served from, for the Content-Security-Policy's ``img-src``
    (the site's strict policy allows images from its own origin only)."""
    if custom_domain:
        return [f"https://{custom_domain}"]
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        # Path-style (endpoint/bucket/key) or virtual-hosted (bucket.endpoint/key) addresses.
        return [f"{parts.scheme}://{parts.netloc}", f"{parts.scheme}://{bucket}.{parts.netloc}"]
    hosts = [f"{bucket}.s3.amazonaws.com"]
    if region:
        hosts.append(f"{bucket}.s3.{region}.amazonaws.com")
    return [f"https://{host}" for host in hosts]
