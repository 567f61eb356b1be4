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


def _styles(chunks: dict, name: str, seen: set[str]) -> list[str]:
    """The entry's CSS and that of every chunk it imports (entries share chunks, and their CSS goes with them)."""
    if name in seen or name not in chunks:
        return []
    seen.add(name)
    chunk = chunks[name]
    styles = [css for imported in chunk.get("imports", []) for css in _styles(chunks, imported, seen)]
    return styles + [css for css in chunk.get("css", []) if css not in styles]


@register.simple_tag
def vite_entry(name: str) -> SafeString:
    chunks = manifest()
    entry = chunks.get(name)
    if entry is None:
        return format_html('<p class="error card">The browser client is not built: run <code>make frontend</code>.</p>')
    styles = dict.fromkeys(_styles(chunks, name, set()))
    links = format_html_join("", '<link rel="stylesheet" href="{}">', ((static(css),) for css in styles))
    return format_html('{}<script type="module" src="{}"></script>', links, static(entry["file"]))
