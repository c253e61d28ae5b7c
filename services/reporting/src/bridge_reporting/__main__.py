"""Runs the reporting service: `python -m bridge_reporting` (or the `bridge-reporting` script)."""

from bridge_reporting.main import create_app
from bridge_reporting.settings import ReportingSettings
from bridge_shared.service import run


def main() -> None:
    settings = ReportingSettings()
    run(lambda: create_app(settings), settings)


if __name__ == "__main__":
    main()
