"""StreamField blocks for the site's own pages (home, standard pages, storefronts)."""

from wagtail import blocks
from wagtail.images.blocks import ImageBlock


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(max_length=120)
    size = blocks.ChoiceBlock(choices=[("h2", "Section"), ("h3", "Subsection")], default="h2")

    class Meta:
        icon = "title"
        template = "blocks/heading.html"


class CallToActionBlock(blocks.StructBlock):
    title = blocks.CharBlock(max_length=120)
    text = blocks.TextBlock(required=False)
    button_label = blocks.CharBlock(max_length=40)
    button_page = blocks.PageChooserBlock(required=False)
    button_url = blocks.URLBlock(required=False, help_text="Used when no page is chosen.")

    class Meta:
        icon = "pick"
        template = "blocks/call_to_action.html"


class FeatureBlock(blocks.StructBlock):
    title = blocks.CharBlock(max_length=80)
    text = blocks.TextBlock()


class FeatureListBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120, required=False)
    features = blocks.ListBlock(FeatureBlock())

    class Meta:
        icon = "list-ul"
        template = "blocks/feature_list.html"


class LinkBlock(blocks.StructBlock):
    label = blocks.CharBlock(max_length=60)
    url = blocks.URLBlock()

    class Meta:
        icon = "link"


class SectionStreamBlock(blocks.StreamBlock):
    """Building blocks for the body of the home page and standard pages."""

    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        features=["bold", "italic", "link", "ol", "ul", "h3", "blockquote"]
    )
    image = ImageBlock()
    call_to_action = CallToActionBlock()
    features = FeatureListBlock()
