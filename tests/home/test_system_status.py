"""The staff's "System status" page in the Wagtail admin, with a real Celery worker."""

from datetime import timedelta
from typing import cast

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import User
from tests.accounts.factories import UserFactory
from tests.studio.factories import with_admin_access
from tests.support.network import free_port
from tests.support.worker import celery_worker

pytestmark = pytest.mark.django_db

STATUS = reverse("system_status")


def test_only_staff_see_the_system_status(client):
    creator = cast(User, UserFactory(email="creator@example.com", is_staff=False))
    client.force_login(with_admin_access(creator))
    assert client.get(STATUS).status_code in {302, 403}


@pytest.mark.django_db(transaction=True)
def test_staff_see_a_live_worker_and_beats_last_run(client, tmp_path):
    client.force_login(UserFactory(email="staff@example.com", is_staff=True, is_superuser=True))
    every_minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="dispatch-due-lessons",
        task="courses.tasks.dispatch_due_lessons",
        interval=every_minute,
        last_run_at=timezone.now() - timedelta(seconds=42),
        total_run_count=7,
    )

    silent = client.get(STATUS)
    assert silent.status_code == 200
    assert "No worker answered" in silent.content.decode()

    with celery_worker(smtp_port=free_port(), log_path=tmp_path / "worker.log") as worker:
        page = client.get(STATUS).content.decode()

    assert worker.node in page
    assert "pong" in page
    assert "No worker answered" not in page
    assert "courses.tasks.dispatch_due_lessons" in page
    assert "0\xa0minutes ago" in page  # timesince of 42 seconds
    assert "<td>7</td>" in page
