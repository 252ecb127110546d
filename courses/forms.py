from config.ownership import CreatorContentForm
from config.price_forms import MajorUnitPriceFormMixin
from config.publish_gate import PaidPublishGateForm


class CoursePageForm(PaidPublishGateForm, MajorUnitPriceFormMixin, CreatorContentForm):
    """The course editor: the price is typed in major units and checked against Stripe's
    minimum for its currency."""
