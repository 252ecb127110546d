"""Wagtail's user editing, with the learner's time zone and lesson send hour.

Staff fix a learner's schedule in either admin; saving it moves their unsent lessons
(accounts/signals.py). Wired in through ``apps.WagtailUsersConfig``; the fields are shown by
``templates/wagtailusers/users/edit.html``.
"""

from wagtail.users.forms import UserEditForm
from wagtail.users.views.users import UserViewSet as WagtailUserViewSet


class LearnerUserEditForm(UserEditForm):
    class Meta(UserEditForm.Meta):
        fields = UserEditForm.Meta.fields | {"time_zone", "lesson_send_hour"}


class UserViewSet(WagtailUserViewSet):
    def get_form_class(self, for_update=False):
        return LearnerUserEditForm if for_update else super().get_form_class(for_update)
