from wagtail import blocks
from wagtail.images.blocks import ImageBlock


class WorkshopDescriptionBlock(blocks.StreamBlock):
    text = blocks.RichTextBlock(features=["h3", "bold", "italic", "link", "ol", "ul", "blockquote"])
    image = ImageBlock()
    agenda = blocks.ListBlock(
        blocks.StructBlock(
            [("minutes", blocks.IntegerBlock(min_value=0)), ("item", blocks.CharBlock())]
        ),
        icon="list-ol",
        template="blocks/workshop/agenda.html",
    )
