"""Runs the notifications service: `python -m bridge_notifications` (or the `bridge-notifications` script)."""

from bridge_notifications.main import create_app
from bridge_notifications.settings import NotificationsSettings
from bridge_shared.service import run


def main() -> None:
    settings = NotificationsSettings()
    run(lambda: create_app(settings), settings)


if __name__ == "__main__":
    main()
