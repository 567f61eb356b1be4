"""Package names imported on first use (PEP 562): a package's ``__init__`` re-exports names of heavy submodules
without importing them, so that importing a light submodule of it does not pull in PyTorch."""

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_getattr(package: str, sources: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``sources[name]`` (a module path) when ``name`` is first used."""

    def __getattr__(name: str) -> Any:
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(sources[name]), name)

    return __getattr__
