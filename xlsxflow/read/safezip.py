"""Open zip containers (xlsx, ods) from strangers without trusting a byte of them.

Sizes declared in the zip directory can lie, so every member is inflated with a cap;
the ratio check catches classic zip bombs before inflating at all.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

from xlsxflow.read.errors import ReadError
from xlsxflow.read.limits import Limits


class SafeZip:
    """A zip's members, listed when it is opened (one that cannot be listed is
    ``file.corrupt``). ``check`` refuses what no spreadsheet holds, once the caller
    knows it is meant to be one (``read.open``).

    The file is read once, whole (``_whole``): its members and calamine's reading of it
    (``stream``) come from those bytes, not from the disk again, and all are of one
    version of the file even if it is being replaced."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.limits = limits
        self.inflated = 0
        self.data = _whole(path, limits.max_file_bytes)
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(self.data))
            self.infos = self.zf.infolist()
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            ValueError,
            EOFError,
            NotImplementedError,  # (a member of a zip version zipfile does not know)
        ) as err:
            raise ReadError("file.corrupt", str(err)) from None
        self.names = {info.filename for info in self.infos}

    def check(self) -> None:
        """Too many members, two of one name, a name not in its plain form, or an
        encrypted one: refused. (``xl/worksheets/./sheet1.xml`` is the same part as
        ``xl/worksheets/sheet1.xml`` to this reader, which resolves paths, but another
        member to calamine, which reads a relationship's target as written: calamine
        could be handed a sheet that was never checked.)"""
        if len(self.infos) > self.limits.max_members:
            raise ReadError("file.too_large", f"{len(self.infos)} 个部件")
        seen: set[str] = set()
        for info in self.infos:
            if info.filename in seen:
                raise ReadError("file.duplicate_member", info.filename)
            seen.add(info.filename)
            # (a folder's entry ends with /; every segment is a name, not "", "." or "..")
            whole = f"/{info.filename.rstrip('/')}/"
            if "\\" in whole or "//" in whole or "/./" in whole or "/../" in whole:
                raise ReadError("file.corrupt", f"部件名不规范：{info.filename}")
            if info.flag_bits & 0x1:
                raise ReadError("file.encrypted", info.filename)

    def small(self, name: str) -> bytes | None:
        """A member of under 200 bytes, there once (to tell what the zip holds), or
        None."""
        entries = [i for i in self.infos if i.filename == name]
        if len(entries) != 1 or entries[0].file_size >= 200:  # (two of one name: ``check``)
            return None
        return self.read(name)

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.zf.close()

    def stream(self) -> io.BytesIO:
        """The whole file, to read it with another reader (calamine)."""
        return io.BytesIO(self.data)

    def has(self, name: str) -> bool:
        return name in self.names

    def read(self, name: str) -> bytes:
        limits = self.limits
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise ReadError("file.corrupt", f"缺少部件 {name}") from None
        if info.flag_bits & 0x1:  # (read before ``check``: the member that tells the kind)
            raise ReadError("file.encrypted", name)
        declared = info.file_size
        if declared > limits.max_member_bytes:
            raise ReadError("file.zip_bomb", f"{name} 解压后 {declared} 字节")
        if declared > limits.ratio_floor and declared > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise ReadError("file.zip_bomb", f"{name} 压缩比异常")
        cap = min(limits.max_member_bytes, limits.max_total_bytes - self.inflated)
        # Never ask for more than the declared size (which passed the ratio check):
        # zlib would inflate all of ``cap`` before zipfile cuts it to that size.
        most = min(cap, declared) + 1
        data = self._plain_member(info, most)
        if data is None:
            data = self._zipfile_member(info, most)
        if len(data) > cap:
            raise ReadError("file.zip_bomb", f"{name} 解压后超过限制")
        self.inflated += len(data)
        return data

    def _zipfile_member(self, info: zipfile.ZipInfo, most: int) -> bytes:
        """Up to ``most`` bytes of the member as zipfile reads it (what it refuses is
        ``file.corrupt``)."""
        try:
            with self.zf.open(info) as fh:
                return fh.read(most)
        except (
            zipfile.BadZipFile,
            EOFError,
            OSError,
            ValueError,
            NotImplementedError,
            RuntimeError,  # (what zipfile raises for a member it cannot decrypt)
            zlib.error,  # (a deflate stream broken in its middle)
        ) as err:
            raise ReadError("file.corrupt", f"{info.filename}: {err}") from None

    def _plain_member(self, info: zipfile.ZipInfo, most: int) -> bytes | None:
        """The member inflated in one call from the file's bytes, where it is as office
        suites write them (stored or deflated, its local header naming it, its size and
        CRC as the directory says): ~15 µs of zipfile's stream machinery less a member,
        7-10 members a return. None for anything else, which zipfile then reads (and
        refuses) exactly as before."""
        start = info.header_offset
        if (
            self.zf.fp is None  # (closed: zipfile refuses)
            or info.compress_type not in _METHODS
            or info.flag_bits & ~_PLAIN_FLAGS
            or start < 0  # (a directory placed past its end: a slice would wrap)
        ):
            return None
        header = self.data[start : start + _LOCAL.size]
        if len(header) != _LOCAL.size:
            return None
        magic, _version, flags, *_, name_length, extra_length = _LOCAL.unpack(header)
        name_at = start + _LOCAL.size
        begin = name_at + name_length + extra_length
        end = begin + info.compress_size
        try:
            name = info.orig_filename.encode("utf-8" if info.flag_bits & _UTF8 else "cp437")
        except UnicodeEncodeError:
            return None
        # (where the next member starts, on Pythons whose zipfile refuses members that
        # overlap, a zip bomb's trick; None on the others)
        next_member = getattr(info, "_end_offset", None)
        if (
            magic != _LOCAL_MAGIC
            or (flags ^ info.flag_bits) & _UTF8  # (zipfile decodes each name by its own)
            or end > len(self.data)
            or (next_member is not None and end > next_member)
            or self.data[name_at : name_at + name_length] != name
        ):
            return None
        raw = memoryview(self.data)[begin:end]
        if info.compress_type == zipfile.ZIP_STORED:
            data = bytes(raw[:most])
        else:
            inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                data = inflate.decompress(raw, most)
            except zlib.error:
                return None
            if not inflate.eof:
                return None
        if len(data) != info.file_size or len(data) >= most or zlib.crc32(data) != info.CRC:
            return None
        return data


# A zip's local file header (signature … file name length, extra field length), and what
# ``SafeZip._plain_member`` reads itself: the methods, and the flags it takes on (the
# deflate level hints Excel sets, sizes after the data as LibreOffice writes, UTF-8 names).
_LOCAL = struct.Struct("<4s5H3I2H")
_LOCAL_MAGIC = b"PK\x03\x04"
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_UTF8 = 0x800
_PLAIN_FLAGS = 0x2 | 0x4 | 0x8 | _UTF8


def _whole(path: Path, limit: int) -> bytes:
    """The file's bytes, never more than ``limit`` of them. Read by the size it has when
    opened (asking for ``limit`` bytes at once would allocate all of them); a file
    that is still growing (being copied into the inbox) is not read on."""
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise ReadError("file.too_large", f"{size} 字节")
            data = fh.read(size + 1)
    except OSError as err:
        raise ReadError("file.unreadable", err.strerror or str(err)) from None
    if len(data) > size:
        raise ReadError("file.unreadable", "读取时文件仍在变化（可能正在复制）")
    return data
