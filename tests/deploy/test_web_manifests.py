"""The web app in the kustomize manifests: its secrets come from the Secret bridge-web (created as
deploy/README.md shows, like the services' Secrets), and every overlay gives it a public URL and an
identity provider with which its production settings start; e-mail links point at that URL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge_web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "deploy" / "kustomize"
BASE = KUSTOMIZE / "base"
OVERLAYS = sorted(p for p in (KUSTOMIZE / "overlays").glob("*") if (p / "kustomization.yaml").is_file())


def _documents(path: Path) -> Iterator[dict[str, Any]]:
    yield from (d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict))


def _configmap(name: str, files: list[Path]) -> dict[str, str]:
    """The ConfigMap's data, the base's merged with each later file's patch (strategic merge of data)."""
    data: dict[str, str] = {}
    for path in files:
        for doc in _documents(path):
            if doc.get("kind") == "ConfigMap" and doc["metadata"]["name"] == name:
                data.update({k: str(v) for k, v in (doc.get("data") or {}).items()})
    return data


def _overlay_files(overlay: Path) -> list[Path]:
    spec = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    assert "../../base" in spec.get("resources", []), f"{overlay} does not build on the base"
    return [overlay / p["path"] for p in spec.get("patches", []) if "path" in p]


def _web_deployment() -> dict[str, Any]:
    [doc] = [d for d in _documents(BASE / "web.yaml") if d.get("kind") == "Deployment"]
    return doc


def test_the_web_apps_secrets_come_from_the_bridge_web_secret() -> None:
    [container] = _web_deployment()["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    session = env["BRIDGE_WEB_SESSION_SECRET"]["valueFrom"]["secretKeyRef"]
    assert (session["name"], session["key"]) == ("bridge-web", "session-secret")
    assert not session.get("optional"), "production refuses to start without a session secret"
    client = env["BRIDGE_WEB_OIDC_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]
    assert (client["name"], client["key"]) == ("bridge-web", "oidc-client-secret")
    # No secret value sits in a ConfigMap.
    assert not {"BRIDGE_WEB_SESSION_SECRET", "BRIDGE_WEB_OIDC_CLIENT_SECRET"} & set(
        _configmap("web-config", [BASE / "web.yaml"])
    )


def test_the_readme_shows_how_to_create_the_bridge_web_secret() -> None:
    readme = (ROOT / "deploy" / "README.md").read_text()
    command = readme[readme.index("create secret generic bridge-web") :].split("\n\n")[0]
    assert "session-secret=" in command and "oidc-client-secret=" in command


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_each_overlay_configures_the_web_app_for_production(
    overlay: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [BASE / "web.yaml", *_overlay_files(overlay)]
    config = _configmap("web-config", files)
    for key in ("BRIDGE_WEB_PUBLIC_BASE_URL", "BRIDGE_WEB_OIDC_ISSUER", "BRIDGE_WEB_OIDC_CLIENT_ID"):
        assert config.get(key), f"{overlay.name}: web-config lacks {key}"
    platform = _configmap("bridge-platform", [BASE / "platform-config.yaml", *_overlay_files(overlay)])
    for name in list(os.environ):
        if name.startswith("BRIDGE_WEB_") or name == "BRIDGE_ENVIRONMENT":
            monkeypatch.delenv(name)
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BRIDGE_WEB_ENVIRONMENT", platform["environment"])
    monkeypatch.setenv("BRIDGE_WEB_SESSION_SECRET", secrets.token_hex(32))  # as the README makes it
    settings = WebSettings()
    assert settings.environment == "production" and settings.secure_cookies
    assert settings.redirect_uri == f"{config['BRIDGE_WEB_PUBLIC_BASE_URL']}/auth/callback"

    # E-mail links open the web app.
    notifications = _configmap(
        "notifications-config", [BASE / "notifications.yaml", *_overlay_files(overlay)]
    )
    assert notifications.get("BRIDGE_NOTIFICATIONS_APP_BASE_URL") == config["BRIDGE_WEB_PUBLIC_BASE_URL"]


def test_a_development_session_secret_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the README's `openssl rand` replaces: a placeholder never starts in production."""
    with pytest.raises(ValueError, match="session_secret"):
        WebSettings(
            environment="production",
            session_secret="change-me",
            oidc_issuer="https://login.example.com",
            oidc_client_id="bridge-web",
            public_base_url="https://bridge.example.com",
        )
