"""Minimal static file serving for same-origin demo/test pages (GET/HEAD only)."""

import mimetypes
import os
import posixpath

from django.http import FileResponse, JsonResponse
from django.views.decorators.http import require_safe

TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".css": "text/css",
    ".map": "application/json",
    ".ts": "text/plain; charset=utf-8",
}


def _not_found():
    return JsonResponse({"detail": "Not found."}, status=404)


@require_safe
def serve(request, path, root):
    # `path` is the URL-decoded remainder after the mount prefix. Refuse anything that could
    # leave `root` lexically (.., absolute paths, backslashes, NUL); symlinks placed inside
    # `root` by its owner are followed.
    if "\x00" in path or "\\" in path:
        return _not_found()
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return _not_found()
    full = os.path.join(root, *parts) if parts else root
    if os.path.isdir(full):
        full = os.path.join(full, "index.html")
    if not os.path.isfile(full):
        return _not_found()
    ext = posixpath.splitext(full)[1].lower()
    content_type = TYPES.get(ext) or mimetypes.guess_type(full)[0] or "application/octet-stream"
    response = FileResponse(open(full, "rb"), content_type=content_type)
    response["Cache-Control"] = "no-cache"
    return response
