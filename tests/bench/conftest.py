"""The benchmarks' results, printed together as one table at the end of ``make bench``."""

import logging

import pytest

RESULTS: list[tuple[str, str, str]] = []


def record(benchmark: str, measure: str, value: str) -> None:
    RESULTS.append((benchmark, measure, value))


def table(rows: list[tuple[str, str, str]]) -> str:
    header = ("benchmark", "measure", "value")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    line = "+-" + "-+-".join("-" * width for width in widths) + "-+"

    def format_row(row: tuple[str, str, str]) -> str:
        return (
            "| "
            + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            + " |"
        )

    return "\n".join([line, format_row(header), line, *map(format_row, rows), line])


def pytest_terminal_summary(terminalreporter):
    if RESULTS:
        terminalreporter.write_sep("=", "lesson e-mail benchmarks")
        terminalreporter.write_line(table(RESULTS))


@pytest.fixture(autouse=True)
def _quiet_smtp_sink():
    """aiosmtpd logs about five INFO lines per message (logger ``mail.log``): in a benchmark,
    an in-process sink spent more time logging than receiving, and throttled what it measured.
    """
    sink_log = logging.getLogger("mail.log")
    level = sink_log.level
    sink_log.setLevel(logging.WARNING)
    yield
    sink_log.setLevel(level)
