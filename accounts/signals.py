from django.dispatch import Signal

# Sent with ``learner`` (the saved User) when their time zone or lesson send hour changed.
# Apps that schedule things in the learner's local time (courses) reschedule on it; accounts
# itself knows none of them (docs/architecture.md: accounts imports no other app).
learner_schedule_changed = Signal()
