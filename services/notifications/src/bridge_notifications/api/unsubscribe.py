"""One-click unsubscribe (RFC 8058), outside the API document: the URL in List-Unsubscribe.

* ``POST /unsubscribe/{token}`` (body ``List-Unsubscribe=One-Click`` from a mail client, or the
  confirmation page's button): turns e-mail off for the link's owner (app/unsubscribe.py).
* ``GET /unsubscribe/{token}``: a confirmation page with that button. A GET changes nothing, so
  link scanners that open every URL in a message unsubscribe nobody.

No bearer token: the signed token in the path is the authorisation. Pages are in the person's
language and show nothing about them (no name, no address).
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse

from bridge_notifications.api.deps import NotificationsRuntime, get_runtime
from bridge_notifications.app import unsubscribe as app
from bridge_notifications.domain.unsubscribe import MAX_TOKEN_CHARS

router = APIRouter(prefix="/unsubscribe", include_in_schema=False)
Token = Annotated[str, Path(max_length=MAX_TOKEN_CHARS, pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]

# (page title, question, button, done, already off)
_TEXT: dict[str, tuple[str, str, str, str, str]] = {
    "en": (
        "Unsubscribe from Bridge e-mails",
        "Stop e-mails from Bridge? Notifications will still appear in your Bridge inbox.",
        "Unsubscribe",
        "Done: Bridge will not e-mail you any more. Notifications stay in your Bridge inbox; you can "
        "turn e-mail back on in your preferences.",
        "E-mail was already off for you. Notifications stay in your Bridge inbox.",
    ),
    "de": (
        "Bridge-E-Mails abbestellen",
        "Keine E-Mails mehr von Bridge? Benachrichtigungen erscheinen weiterhin in Ihrem Bridge-Posteingang.",
        "Abbestellen",
        "Erledigt: Bridge sendet Ihnen keine E-Mails mehr. Benachrichtigungen bleiben in Ihrem "
        "Bridge-Posteingang; in Ihren Einstellungen können Sie E-Mails wieder einschalten.",
        "E-Mails waren bereits ausgeschaltet. Benachrichtigungen bleiben in Ihrem Bridge-Posteingang.",
    ),
    "fr": (
        "Se désabonner des e-mails Bridge",
        "Ne plus recevoir d'e-mails de Bridge ? Les notifications resteront dans votre boîte Bridge.",
        "Se désabonner",
        "C'est fait : Bridge ne vous enverra plus d'e-mails. Les notifications restent dans votre boîte "
        "Bridge ; vous pouvez réactiver les e-mails dans vos préférences.",
        "Les e-mails étaient déjà désactivés. Les notifications restent dans votre boîte Bridge.",
    ),
    "es": (
        "Darse de baja de los correos de Bridge",
        "¿Dejar de recibir correos de Bridge? Las notificaciones seguirán en su bandeja de Bridge.",
        "Darse de baja",
        "Hecho: Bridge ya no le enviará correos. Las notificaciones siguen en su bandeja de Bridge; "
        "puede volver a activar el correo en sus preferencias.",
        "El correo ya estaba desactivado. Las notificaciones siguen en su bandeja de Bridge.",
    ),
    "ja": (
        "Bridge のメール配信停止",
        "Bridge からのメールを停止しますか。通知は引き続き Bridge の受信トレイに届きます。",
        "配信を停止する",
        "完了しました。Bridge からメールは送信されません。通知は Bridge の受信トレイに届きます。"
        "設定からメールを再開できます。",
        "メールはすでに停止されています。通知は Bridge の受信トレイに届きます。",
    ),
}


def _page(locale: str, body: str) -> HTMLResponse:
    title = _TEXT.get(locale, _TEXT["en"])[0]
    return HTMLResponse(
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
        f"</head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


@router.get("/{token}", response_class=HTMLResponse)
async def confirm_page(token: Token, rt: NotificationsRuntime = Depends(get_runtime)) -> HTMLResponse:
    locale = await app.locale_of(rt.pool, rt.settings, token)
    _, question, button, _, _ = _TEXT.get(locale, _TEXT["en"])
    form = (
        f'<p>{escape(question)}</p><form method="post" action="{escape(token)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button type="submit">{escape(button)}</button></form>'
    )
    return _page(locale, form)


@router.post("/{token}", response_class=HTMLResponse)
async def one_click(token: Token, rt: NotificationsRuntime = Depends(get_runtime)) -> HTMLResponse:
    """RFC 8058 one-click: the body (``List-Unsubscribe=One-Click``) is not needed to act on it."""
    done = await app.unsubscribe(rt.pool, rt.settings, token)
    text = _TEXT.get(done.locale, _TEXT["en"])
    return _page(done.locale, f"<p>{escape(text[3] if done.changed else text[4])}</p>")
