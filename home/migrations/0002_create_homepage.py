"""Replace Wagtail's placeholder page with our HomePage and point the default site at it."""

from django.db import migrations


def create_homepage(apps, schema_editor):
    ContentType = apps.get_model("contenttypes.ContentType")
    Page = apps.get_model("wagtailcore.Page")
    Site = apps.get_model("wagtailcore.Site")
    HomePage = apps.get_model("home.HomePage")
    Locale = apps.get_model("wagtailcore.Locale")

    # wagtailcore's initial migration made a plain "Welcome" page at this spot.
    Page.objects.filter(depth=2, slug="home", content_type__app_label="wagtailcore").delete()

    homepage_type, _ = ContentType.objects.get_or_create(model="homepage", app_label="home")
    homepage = HomePage.objects.create(
        title="microcourses",
        draft_title="microcourses",
        slug="home",
        content_type=homepage_type,
        path="00010001",
        depth=2,
        numchild=0,
        url_path="/home/",
        locale=Locale.objects.order_by("pk").first(),
        hero_title="Learn from people who know",
        hero_text=(
            "Seven-day e-mail courses and small live workshops from niche experts. "
            "One lesson a day, at your own morning hour."
        ),
    )
    Site.objects.all().delete()
    Site.objects.create(
        hostname="localhost", port=80, site_name="microcourses", root_page=homepage,
        is_default_site=True,
    )


def remove_homepage(apps, schema_editor):
    HomePage = apps.get_model("home.HomePage")
    HomePage.objects.filter(slug="home", depth=2).delete()


class Migration(migrations.Migration):
    dependencies = [("home", "0001_initial")]
    operations = [migrations.RunPython(create_homepage, remove_homepage)]
