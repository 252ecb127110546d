from django.dispatch import Signal

# Sent with ``registration_id`` after a paid, confirmed registration was cancelled (by the
# learner or because the creator cancelled the workshop). payments listens and refunds the
# order; workshops knows nothing of payments (docs/architecture.md).
paid_registration_cancelled = Signal()

# Sent with ``registration_id`` after a learner gave back a seat that was still held for
# payment: payments expires its open Checkout Session so it can no longer be paid.
paid_hold_given_back = Signal()
