"""The benchmarks' results, printed together as one table at the end of ``make bench``."""

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
