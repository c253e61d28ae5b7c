"""Runs the sessions service: `python -m bridge_sessions` (or the `bridge-sessions` script)."""

from bridge_sessions.main import create_app
from bridge_sessions.settings import SessionsSettings
from bridge_shared.service import run


def main() -> None:
    settings = SessionsSettings()
    run(lambda: create_app(settings), settings)


if __name__ == "__main__":
    main()
