"""Uploads on S3 (moto in server mode, through boto3 and django-storages): shared between
processes, documents private behind the lesson access check, renditions public and cacheable."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from wagtail.documents.models import Document

from config.storage import PUBLIC_CACHE_CONTROL, public_media_origins, s3_storages
from tests.config.test_production_settings import PROJECT_DIR
from tests.courses.factories import course_page, enroll, learner, lesson_page
from tests.support.s3 import S3Server, http_get, moto_server

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_server() as server:
        yield server


@pytest.fixture
def on_s3(settings, s3):
    """This process's uploads on the moto bucket, configured as production configures them."""
    settings.STORAGES = {**settings.STORAGES, **s3_storages(**s3.storage_kwargs())}
    settings.WAGTAILDOCS_SERVE_METHOD = "redirect"
    return s3


def another_process(s3: S3Server, script: str) -> dict:
    """Run ``script`` in a fresh interpreter whose settings read the bucket from the environment
    (as a second web machine or a worker would); it prints one JSON object."""
    env = {**os.environ, **s3.env(), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", f"import django; django.setup()\n{script}"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def offered_by_lesson(course, *, day: int) -> Document:
    document = Document.objects.create(
        title="Baking schedule", file=ContentFile(b"%PDF-1.4 schedule", name="schedule.pdf")
    )
    lesson_page(course, day=day, body=[("download", {"document": document, "label": ""})])
    return document


def test_a_file_uploaded_by_one_process_is_read_by_another(on_s3):
    document = Document.objects.create(
        title="Notes", file=ContentFile(b"written by web one", name="notes.txt")
    )

    read = another_process(
        on_s3,
        "import json\nfrom django.core.files.storage import default_storage\n"
        f"print(json.dumps({{'content': default_storage.open({document.file.name!r}).read()"
        ".decode()}))",
    )

    assert read == {"content": "written by web one"}


def test_a_document_on_s3_is_private(on_s3):
    document = offered_by_lesson(course_page(lessons=1), day=0)
    stored = on_s3.client().get_object(Bucket=on_s3.bucket, Key=document.file.name)
    assert stored["Body"].read() == b"%PDF-1.4 schedule"

    # The object's own address, without the signature the access check hands out: refused.
    presigned = document.file.url
    unsigned = presigned.split("?", 1)[0]
    status, _headers, body = http_get(unsigned)

    assert status == 403
    assert b"%PDF" not in body


def test_a_reader_is_redirected_to_a_short_lived_signed_url(client, on_s3):
    course = course_page(lessons=1)
    document = offered_by_lesson(course, day=0)
    reader = learner()
    enroll(reader, course)
    client.force_login(reader)

    response = client.get(document.url)

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{on_s3.endpoint_url}/{on_s3.bucket}/documents/")
    assert "Expires=120" in location or "X-Amz-Expires=120" in location
    # The redirect carries a working credential: no shared cache may keep it.
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    status, _headers, body = http_get(location)
    assert (status, body) == (200, b"%PDF-1.4 schedule")


def test_someone_the_check_refuses_gets_no_url_at_all(client, on_s3):
    course = course_page(lessons=1)
    document = offered_by_lesson(course, day=0)
    client.force_login(learner())  # not enrolled

    response = client.get(document.url)

    assert response.status_code == 403
    assert on_s3.endpoint_url not in response.content.decode()
    assert "Location" not in response


def test_renditions_are_public_with_long_cache_lifetimes_and_documents_redirect(s3):
    # The settings a production process builds from its environment, in a process of its own.
    seen = another_process(
        s3,
        "import json\n"
        "from django.conf import settings\n"
        "from django.core.files.base import ContentFile\n"
        "from wagtail.images.models import Rendition\n"
        "storage = Rendition._meta.get_field('file').storage\n"
        "name = storage.save('images/crumb.fill-600x400.png', ContentFile(b'png bytes'))\n"
        "print(json.dumps({'url': storage.url(name), "
        "'serve': settings.WAGTAILDOCS_SERVE_METHOD}))",
    )

    assert seen["serve"] == "redirect"
    assert "X-Amz" not in seen["url"] and "Signature" not in seen["url"]
    status, headers, body = http_get(seen["url"])
    assert (status, body) == (200, b"png bytes")
    assert headers["cache-control"] == PUBLIC_CACHE_CONTROL
    assert urlsplit(seen["url"]).path.startswith(f"/{s3.bucket}/images/")


def test_readyz_checks_the_bucket(client, settings, on_s3):
    assert client.get("/readyz").json()["checks"]["storage"]["ok"] is True

    missing = s3_storages(**{**on_s3.storage_kwargs(), "bucket": "no-such-bucket"})
    settings.STORAGES = {**settings.STORAGES, **missing}
    response = client.get("/readyz")

    assert response.status_code == 503
    assert "NoSuchBucket" in response.json()["checks"]["storage"]["detail"] or (
        "404" in response.json()["checks"]["storage"]["detail"]
    )


def test_the_content_security_policy_allows_images_from_the_buckets_origin():
    assert public_media_origins(bucket="media", custom_domain="cdn.example.com") == [
        "https://cdn.example.com"
    ]
    assert public_media_origins(bucket="media", endpoint_url="http://127.0.0.1:9000/") == [
        "http://127.0.0.1:9000",
        "http://media.127.0.0.1:9000",
    ]
    assert public_media_origins(bucket="media", region="eu-central-1") == [
        "https://media.s3.amazonaws.com",
        "https://media.s3.eu-central-1.amazonaws.com",
    ]
