"""The allocator setting (models/memory.py): applied once, only through glibc's mallopt, and a
process where it is missing starts as usual."""
from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap

import pytest

from models import memory


class FakeLibc:
    def __init__(self, answer: int = 1):
        self.calls: list[tuple[int, int]] = []
        self.answer = answer

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.answer


@pytest.fixture
def fresh(monkeypatch):
    """As in a process that has not applied the setting yet."""
    monkeypatch.setattr(memory, "_applied", None)


def test_each_setting_is_applied_exactly_once(fresh, monkeypatch):
    libc = FakeLibc()
    monkeypatch.setattr(memory, "_glibc", lambda: libc)
    assert memory.keep_freed_memory() is True
    assert memory.keep_freed_memory() is True
    assert libc.calls == [(memory.M_ARENA_MAX, 1), (memory.M_MMAP_THRESHOLD, memory.KEEP_BYTES),
                          (memory.M_TRIM_THRESHOLD, memory.KEEP_BYTES)]


def test_a_refused_setting_is_reported_and_not_retried(fresh, monkeypatch):
    libc = FakeLibc(answer=0)
    monkeypatch.setattr(memory, "_glibc", lambda: libc)
    assert memory.keep_freed_memory() is False
    assert memory.keep_freed_memory() is False
    assert len(libc.calls) == 1     # stops at the first refusal, and never asks again


def test_no_c_library_or_no_mallopt_means_nothing_is_applied(fresh, monkeypatch):
    def missing(*args, **kwargs):
        raise OSError("no such library")

    monkeypatch.setattr(ctypes, "CDLL", missing)
    assert memory._glibc() is None
    assert memory.keep_freed_memory() is False

    monkeypatch.setattr(ctypes, "CDLL", lambda *args, **kwargs: object())   # a C library without them
    assert memory._glibc() is None
    monkeypatch.setattr(sys, "platform", "darwin")
    assert memory._glibc() is None


def test_a_process_whose_c_library_lookup_fails_starts_normally(tiny_models):
    script = textwrap.dedent(f"""
        import ctypes
        real = ctypes.CDLL
        def lookup(name, *args, **kwargs):     # the process's own C library cannot be opened
            if name is None:
                raise OSError("not glibc")
            return real(name, *args, **kwargs)
        ctypes.CDLL = lookup
        from explorer.cli import main
        from models import memory
        code = main(["inspect", {str(tiny_models["vae"])!r}])
        print("applied:", memory.keep_freed_memory())
        raise SystemExit(code)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "conv-vae" in done.stdout
    assert "applied: False" in done.stdout


MALLINFO = textwrap.dedent("""
    import ctypes, sys, threading
    import numpy as np
    from models.memory import keep_freed_memory

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    if sys.argv[1] == "keep":
        assert keep_freed_memory()
    mapped = []

    def work():     # on a thread of its own, as a command's work and the app's worker run
        block = np.ones(100 << 20, dtype=np.uint8)
        mapped.append(libc.mallinfo2().hblkhd)
        del block

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    print(mapped[0] >> 20)
""")


def _has_mallinfo2() -> bool:
    try:
        libc = ctypes.CDLL(None)
        return hasattr(libc, "mallinfo2") and hasattr(libc, "gnu_get_libc_version")
    except (OSError, TypeError):
        return False


@pytest.mark.skipif(not _has_mallinfo2(), reason="needs glibc 2.33 or newer (mallinfo2)")
def test_with_the_setting_a_large_block_on_a_thread_comes_from_the_heap_not_from_mmap():
    def mapped_mb(mode: str) -> int:
        done = subprocess.run([sys.executable, "-c", MALLINFO, mode], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return int(done.stdout.split()[-1])

    assert mapped_mb("default") >= 100      # glibc maps it by itself, and unmaps it when freed
    assert mapped_mb("keep") == 0
