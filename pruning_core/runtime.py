"""Process-level settings that must be in place before Python starts."""
from __future__ import annotations

import os
import sys

# glibc returns large blocks to the OS on every free by default; tensors of a few MB then cost a
# page-fault storm on each forward. These values keep them in the heap (MiniLM at batch 32: 16 -> 26 ex/s).
FAST_MALLOC = "glibc.malloc.mmap_threshold=2147483647:glibc.malloc.trim_threshold=4294967295"


def ensure_fast_malloc() -> None:
    """Re-execute this Python process with GLIBC_TUNABLES set, unless it already is (Linux only)."""
    if sys.platform.startswith("linux") and "GLIBC_TUNABLES" not in os.environ:
        os.environ["GLIBC_TUNABLES"] = FAST_MALLOC
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def started_as_module() -> bool:
    """True while `python -m package.module` imports its package: Python sets sys.argv[0] to "-m" until the module
    itself runs (then to its path), so imports from tests, notebooks or the dashboard never see it."""
    return sys.argv[:1] == ["-m"]


def fast_malloc_for_commands() -> None:
    """The one start-up hook, for a package's __init__: `python -m <package>.<module>` re-executes with fast malloc
    before the module (and the torch it imports) loads; importing the package from anywhere else changes nothing."""
    if started_as_module():
        ensure_fast_malloc()


def cpu_name() -> str:
    """This machine's CPU in words, with what matters for speed: 'Intel(R) Xeon(R) ... (2 cores, AVX-512, no AMX)'."""
    import platform
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    if "amx_bf16" in flags:
        kind = "AMX"
    elif "avx512f" in flags:
        kind = "AVX-512" + (" with BF16" if "avx512_bf16" in flags else ", no AMX")
    elif "avx2" in flags:
        kind = "AVX2 only"
    else:
        kind = "no AVX2" if flags else "instruction set unknown"
    return f"{model} ({os.cpu_count()} cores, {kind})"
