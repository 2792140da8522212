"""The built single-page app: files from `frontend/dist`, and index.html for every app route."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from webui.guard import error

NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>Orders FaaS</title>
<h1>The frontend is not built yet</h1>
<p>Run <code>make frontend</code>
(or <code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>) and reload.
The API is already proxied under <code>/function/</code>.</p>"""


def _inside(root: Path, relative: str) -> Path | None:
    """The file `relative` names under `root`, or None if it is missing or escapes `root`."""
    try:
        candidate = (root / relative).resolve()
        if candidate.is_file() and candidate.is_relative_to(root):
            return candidate
    except (OSError, ValueError):  # a NUL, a name too long for the file system
        return None
    return None


def serve_built(dist: Path, relative: str) -> Response:
    """One page the build makes besides the app (the API reference and its document)."""
    found = _inside(dist.resolve(), relative)
    if found is None:
        return HTMLResponse(NOT_BUILT, status_code=503)
    return FileResponse(found, headers={"Cache-Control": "no-cache"})


def serve_app(dist: Path, request: Request) -> Response:
    """A built file (hashed assets cached for a year), else index.html so client routes work."""
    root = dist.resolve()
    index = root / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503)
    path = request.path_params.get("path", "")
    found = _inside(root, path) if path else None
    if found is not None and found != index:
        immutable = path.startswith("assets/")
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return FileResponse(found, headers={"Cache-Control": cache})
    if Path(path).suffix and not path.startswith("orders/"):
        return error(404, "not_found", "path", "no such file")
    return FileResponse(index, headers={"Cache-Control": "no-cache"})
