"""`make screenshots`: the key pages at 1280 and 390 px, saved under var/screenshots/."""

import re
import sys
from pathlib import Path

from playwright.sync_api import ViewportSize, sync_playwright

from tests.tools.site_server import ROOT, demo_site

CHROMIUM = "/usr/bin/chromium"
WIDTHS: dict[str, ViewportSize] = {
    "1280": {"width": 1280, "height": 800},
    "390": {"width": 390, "height": 844},
}
PAGES = {
    "home": "/",
    "catalog": "/courses/",
    "course": "/maya-okafor/weekday-sourdough/",
    "workshops": "/workshops/",
    "storefront": "/maya-okafor/",
    "search": "/search/?query=sourdough",
    "sign-in": "/accounts/login/",
    "sign-up": "/accounts/signup/",
}


def main() -> int:
    out = ROOT / "var" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with demo_site() as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        # The first workshop on the list, whatever its date-stamped slug.
        page = browser.new_page()
        page.goto(base_url + "/workshops/")
        link = page.locator(".offer-card__title a").first.get_attribute("href") or "/workshops/"
        pages = {**PAGES, "workshop": link}
        page.close()
        for width, viewport in WIDTHS.items():
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            for name, path in pages.items():
                page.goto(base_url + path, wait_until="networkidle")
                target = out / f"{re.sub(r'[^a-z0-9-]', '-', name)}-{width}.png"
                page.screenshot(path=str(target), full_page=True)
                print(Path(target).relative_to(ROOT))
            context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
