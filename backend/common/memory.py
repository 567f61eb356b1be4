"""Fewer glibc malloc arenas in the web process, whose resident memory otherwise creeps up under load.

Django's ASGI handler runs each HTTP request's synchronous part in a thread of its own (asgiref's
``ThreadSensitiveContext`` makes a one-thread executor per request, and a second thread joins it), so a web process
starts and ends a few threads per request, on top of its executor threads. glibc gives threads up to 8 malloc
arenas per core, and each arena keeps the memory freed in it, fragmented, instead of handing it back: measured on
a 10-annotator load, the live Python objects and malloc's in-use bytes stayed flat while the memory malloc held
free in its thread arenas grew by several MB a minute (docs/results/soak_10x15.json: +3 MB/min over two daphnes).

Two arenas (the main one and one shared by the threads) keep the process's footprint at what it uses; the web
process spends its time waiting on the network, not in malloc, so the contention this brings is negligible.
``MALLOC_ARENA_MAX`` in the environment (read by glibc itself) takes precedence; other C libraries are left alone.
"""

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
WEB_MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = WEB_MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for the threads started from now on; whether the cap was set here."""
    if not sys.platform.startswith("linux") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt arenas): nothing to do
        return False
    if not hasattr(libc, "gnu_get_libc_version"):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(M_ARENA_MAX, arenas) == 1
    if not ok:
        log.warning("could not limit malloc arenas to %s", arenas)
    return ok
