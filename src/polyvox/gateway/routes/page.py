"""``GET /``: a page to try the server in a browser (static/index.html, shipped in the
package: plain HTML and JavaScript, no build step, nothing from a CDN)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter()


@cache
def _page() -> str:
    return (files("polyvox.gateway") / "static" / "index.html").read_text(encoding="utf-8")


@router.get("/", include_in_schema=False)
async def page() -> HTMLResponse:
    return HTMLResponse(_page())
