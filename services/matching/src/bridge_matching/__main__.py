"""Runs the matching service: `python -m bridge_matching` (or the `bridge-matching` script)."""

from bridge_matching.main import create_app
from bridge_matching.settings import MatchingSettings
from bridge_shared.service import run


def main() -> None:
    settings = MatchingSettings()
    run(lambda: create_app(settings), settings)


if __name__ == "__main__":
    main()
