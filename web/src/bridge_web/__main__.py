"""Runs the web app: `python -m bridge_web` (or the `bridge-web` script)."""

from __future__ import annotations

import logging

import uvicorn

from bridge_web.main import create_app
from bridge_web.settings import WebSettings


def main() -> None:
    settings = WebSettings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
        log_level=settings.log_level.lower(),
    )


if __name__ == "__main__":
    main()
