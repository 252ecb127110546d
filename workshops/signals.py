from django.dispatch import Signal

# Sent with ``registration_id`` after a paid, confirmed registration was cancelled (by the
# learner or because the creator cancelled the workshop). payments listens and refunds the
# order; workshops knows nothing of payments (docs/architecture.md).
paid_registration_cancelled = Signal()
