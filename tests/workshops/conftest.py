from functools import partial

import pytest

from tests.accounts.factories import UserFactory


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed(): ...`` runs the on-commit work (e-mails, offers) as a commit would;
    the test's own transaction never commits."""
    return partial(django_capture_on_commit_callbacks, execute=True)


@pytest.fixture
def learner():
    return UserFactory(time_zone="Europe/Berlin")


@pytest.fixture
def make_learners():
    def make(count: int, **fields):
        return [UserFactory(**fields) for _ in range(count)]

    return make
