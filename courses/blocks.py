"""StreamField blocks for course descriptions and lesson bodies.

Every block that a lesson may hold has two templates: the page one (``blocks/lesson/``) and an
e-mail-safe one (``emails/blocks/``), because the whole lesson is e-mailed.
"""

from wagtail import blocks
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.embeds.blocks import EmbedBlock
from wagtail.images.blocks import ImageBlock

RICH_TEXT_FEATURES = ["h3", "h4", "bold", "italic", "link", "ol", "ul", "blockquote", "code"]


class CodeBlock(blocks.StructBlock):
    language = blocks.CharBlock(max_length=30, required=False, help_text="e.g. python, sql")
    code = blocks.TextBlock()

    class Meta:
        icon = "code"
        template = "blocks/lesson/code.html"


class CalloutBlock(blocks.StructBlock):
    kind = blocks.ChoiceBlock(
        choices=[("tip", "Tip"), ("note", "Note"), ("warning", "Warning")], default="tip"
    )
    title = blocks.CharBlock(max_length=80, required=False)
    text = blocks.RichTextBlock(features=["bold", "italic", "link", "code"])

    class Meta:
        icon = "warning"
        template = "blocks/lesson/callout.html"


class VideoBlock(blocks.StructBlock):
    video = EmbedBlock(help_text="A YouTube or Vimeo link.")
    caption = blocks.CharBlock(max_length=200, required=False)

    class Meta:
        icon = "media"
        template = "blocks/lesson/video.html"


class DownloadBlock(blocks.StructBlock):
    document = DocumentChooserBlock()
    label = blocks.CharBlock(max_length=80, required=False)

    class Meta:
        icon = "doc-full"
        template = "blocks/lesson/download.html"


class LessonBodyBlock(blocks.StreamBlock):
    text = blocks.RichTextBlock(features=RICH_TEXT_FEATURES)
    image = ImageBlock()
    video = VideoBlock()
    code = CodeBlock()
    callout = CalloutBlock()
    download = DownloadBlock()


class CourseDescriptionBlock(blocks.StreamBlock):
    text = blocks.RichTextBlock(features=RICH_TEXT_FEATURES)
    image = ImageBlock()
    video = VideoBlock()


class FaqBlock(blocks.StructBlock):
    question = blocks.CharBlock(max_length=200)
    answer = blocks.RichTextBlock(features=["bold", "italic", "link", "ul", "ol"])

    class Meta:
        icon = "help"
