from wagtail.admin.forms import WagtailAdminPageForm

from config.price_forms import MajorUnitPriceFormMixin


class CoursePageForm(MajorUnitPriceFormMixin, WagtailAdminPageForm):
    """The course editor: the price is typed in major units and checked against Stripe's
    minimum for its currency."""
