"""Run axe-core (vendored, see vendor/README.md) in a Playwright page and keep what matters."""

from pathlib import Path

from playwright.sync_api import Page

AXE_VERSION = "4.10.2"
AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}


def serious_violations(page: Page) -> list[str]:
    """axe's serious and critical violations on the page as it is now, one line each."""
    page.add_script_tag(path=str(AXE_SCRIPT))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert results["testEngine"]["version"] == AXE_VERSION
    return [
        f"{violation['impact']} {violation['id']}: {violation['help']} -> "
        + "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]
