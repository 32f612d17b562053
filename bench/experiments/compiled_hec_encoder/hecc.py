"""ctypes wrapper for hec.c (an experiment, see README.md): builds libhec.so with gcc first."""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIB = HERE / "libhec.so"

if not LIB.exists() or LIB.stat().st_mtime < (HERE / "hec.c").stat().st_mtime:
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(LIB), str(HERE / "hec.c")],
                   check=True)
_encode = ctypes.CDLL(str(LIB)).hec_encode
_encode.restype = ctypes.c_long
_encode.argtypes = [
    ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
    ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
    ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
    ctypes.POINTER(ctypes.c_size_t),
]


def encode(data: bytes, pre: bytes, out_mid: bytes, err_mid: bytes,
           tail: bytes) -> tuple[list[bytes], list[int]] | None:
    """(one envelope per frame, each frame's end offset in ``data``), or None when a frame is not
    a plain whole line (then the Python path takes the block)."""
    most = len(data) // 22 + 1  # the smallest frame is 22 bytes
    cap = len(data) * 2 + most * (len(pre) + max(len(out_mid), len(err_mid)) + len(tail) + 48)
    out = ctypes.create_string_buffer(cap)
    ends = (ctypes.c_uint32 * most)()
    size = ctypes.c_size_t()
    n = _encode(data, len(data), out, cap, ends, most, pre, len(pre), out_mid, len(out_mid),
                err_mid, len(err_mid), tail, len(tail), ctypes.byref(size))
    if n < 0:
        return None
    return (ctypes.string_at(out, size.value).split(b"\0")[:-1],
            list(memoryview(ends).cast("B").cast("I")[:n]))
