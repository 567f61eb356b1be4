"""`{% vite_entry "src/main.ts" %}`: the script and style tags of a Vite entry, from frontend/dist/manifest.json."""

import json
from functools import cache
from pathlib import Path

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

MANIFEST = Path(settings.REPO_DIR) / "frontend" / "dist" / "manifest.json"


@cache
def _manifest(mtime: float) -> dict:
    return json.loads(MANIFEST.read_text())


def manifest() -> dict:
    """Reloaded when the build changes (`make frontend` while the server runs)."""
    return _manifest(MANIFEST.stat().st_mtime) if MANIFEST.exists() else {}


@register.simple_tag
def vite_entry(name: str) -> SafeString:
    entry = manifest().get(name)
    if entry is None:
        return format_html('<p class="error card">The browser client is not built: run <code>make frontend</code>.</p>')
    styles = format_html_join("", '<link rel="stylesheet" href="{}">', ((static(css),) for css in entry.get("css", [])))
    return format_html('{}<script type="module" src="{}"></script>', styles, static(entry["file"]))
