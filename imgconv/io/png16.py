"""16-bit colour PNG (RGB, RGBA, grey+alpha): the one thing Pillow reads and writes only as 8 bits.

Pillow decodes a 16-bit RGB(A) or LA PNG to 8 bits per sample and cannot write one at all (Pillow issue
#7723), so imgconv reads and writes exactly those files itself: PNG is zlib plus a per-row byte filter,
and the only part that needs compiled speed -- undoing the Sub/Average/Paeth filters, which run along
each row -- is a small Numba loop (Numba is already a dependency; compiled once, cached on disk).
Everything else (grey, 8-bit, palette) stays with Pillow.

decode() also returns the metadata chunks (ICC profile, EXIF, XMP, text, dpi), so the caller never has
to let Pillow decode the pixels again just to read them.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
COLOUR_TYPE = {1: 0, 3: 2, 2: 4, 4: 6}  # samples per pixel -> colour type
#: Adam7 passes: (x0, y0, dx, dy)
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
XMP_KEY = "XML:com.adobe.xmp"


class PNGError(ValueError):
    """The file is not a well-formed 16-bit PNG (corrupt, truncated or unsupported)."""


# ---------------------------------------------------------------------------------------------- decoding

def chunks(data: bytes):
    """(type, payload) for every chunk, CRC checked, up to IEND."""
    if data[:8] != SIGNATURE:
        raise PNGError("not a PNG file")
    pos = 8
    while True:
        if pos + 8 > len(data):
            raise PNGError("truncated PNG (no IEND chunk)")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 8 + length
        if length > 2**31 - 1 or end + 4 > len(data):
            raise PNGError("truncated PNG (a chunk runs past the end of the file)")
        payload = data[pos + 8:end]
        (crc,) = struct.unpack(">I", data[end:end + 4])
        if zlib.crc32(kind + payload) != crc:
            raise PNGError(f"corrupt PNG (bad CRC in {kind.decode('latin-1')!r} chunk)")
        yield kind, payload
        if kind == b"IEND":
            return
        pos = end + 4


def _unfilter_py(raw, height, rowbytes, bpp):  # pragma: no cover - the Numba version runs instead
    """Undo the PNG row filters: raw is height x (1 + rowbytes) bytes; returns height x rowbytes."""
    out = np.zeros((height, rowbytes), np.uint8)
    for y in range(height):
        kind = raw[y * (rowbytes + 1)]
        line = raw[y * (rowbytes + 1) + 1:(y + 1) * (rowbytes + 1)]
        for x in range(rowbytes):
            a = np.int32(out[y, x - bpp]) if x >= bpp else np.int32(0)
            b = np.int32(out[y - 1, x]) if y > 0 else np.int32(0)
            c = np.int32(out[y - 1, x - bpp]) if (x >= bpp and y > 0) else np.int32(0)
            v = np.int32(line[x])
            if kind == 0:
                pred = np.int32(0)
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)
            else:
                return out, y
            out[y, x] = np.uint8((v + pred) & 0xFF)
    return out, -1


_unfilter_jit = None


def unfilter(raw: np.ndarray, height: int, rowbytes: int, bpp: int) -> np.ndarray:
    global _unfilter_jit
    if _unfilter_jit is None:
        from numba import njit

        _unfilter_jit = njit(cache=True, nogil=True)(_unfilter_py)
    out, bad = _unfilter_jit(raw, height, rowbytes, bpp)
    if bad >= 0:
        raise PNGError(f"corrupt PNG (unknown filter type on row {bad})")
    return out


def _inflate(idat: bytes, expected: int) -> bytes:
    d = zlib.decompressobj()
    try:
        raw = d.decompress(idat, expected)
    except zlib.error as e:
        raise PNGError(f"corrupt PNG image data ({e})") from None
    if len(raw) < expected:
        raise PNGError("truncated PNG image data")
    return raw


def _pass_size(width, height, x0, y0, dx, dy):
    return (max(0, (width - x0 + dx - 1) // dx), max(0, (height - y0 + dy - 1) // dy))


def decode(data: bytes) -> tuple[np.ndarray, dict]:
    """A 16-bit PNG's pixels (H x W x C, native uint16) and its metadata (see the module doc)."""
    header = None
    idat = []
    meta: dict = {}
    text: dict = {}
    for kind, payload in chunks(data):
        if kind == b"IHDR":
            if len(payload) != 13:
                raise PNGError("corrupt PNG header")
            header = struct.unpack(">IIBBBBB", payload)
        elif kind == b"IDAT":
            idat.append(payload)
        elif kind == b"iCCP":
            name_end = payload.find(b"\0")
            try:
                meta["icc_profile"] = zlib.decompress(payload[name_end + 2:])
            except zlib.error:
                pass  # a broken profile is dropped, not fatal
        elif kind == b"eXIf":
            meta["exif"] = b"Exif\x00\x00" + payload
        elif kind == b"pHYs" and len(payload) == 9:
            x, y, unit = struct.unpack(">IIB", payload)
            if unit == 1:
                meta["dpi"] = (x * 0.0254, y * 0.0254)
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            item = _text_chunk(kind, payload)
            if item:
                key, value = item
                if key == XMP_KEY:
                    meta["xmp"] = value.encode("utf-8")
                else:
                    text[key] = value
    if header is None or not idat:
        raise PNGError("PNG has no header or no image data")
    width, height, depth, colour, compression, filter_method, interlace = header
    if depth != 16 or colour not in CHANNELS or compression or filter_method or interlace > 1:
        raise PNGError(f"not a 16-bit grey/RGB/RGBA PNG (depth {depth}, colour type {colour})")
    if width == 0 or height == 0:
        raise PNGError("PNG has zero width or height")
    if text:
        meta["text"] = text
    channels = CHANNELS[colour]
    bpp = 2 * channels
    passes = [(0, 0, 1, 1)] if interlace == 0 else ADAM7
    sizes = [_pass_size(width, height, *p) for p in passes]
    expected = sum(h * (1 + w * bpp) for w, h in sizes if w and h)
    raw = np.frombuffer(_inflate(b"".join(idat), expected), np.uint8)
    out = np.empty((height, width, channels), np.uint16)
    pos = 0
    for (x0, y0, dx, dy), (w, h) in zip(passes, sizes):
        if not w or not h:
            continue
        size = h * (1 + w * bpp)
        rows = unfilter(raw[pos:pos + size], h, w * bpp, bpp)
        pos += size
        out[y0::dy, x0::dx] = rows.view(">u2").reshape(h, w, channels)
    return out, meta


def _text_chunk(kind: bytes, payload: bytes):
    try:
        if kind == b"tEXt":
            key, value = payload.split(b"\0", 1)
            return key.decode("latin-1"), value.decode("latin-1")
        if kind == b"zTXt":
            key, rest = payload.split(b"\0", 1)
            return key.decode("latin-1"), zlib.decompress(rest[1:]).decode("latin-1")
        key, rest = payload.split(b"\0", 1)
        flag, _method, rest = rest[0], rest[1], rest[2:]
        _lang, _translated, value = rest.split(b"\0", 2)
        if flag:
            value = zlib.decompress(value)
        return key.decode("latin-1"), value.decode("utf-8")
    except (ValueError, IndexError, zlib.error, UnicodeDecodeError):
        return None  # a broken text chunk is dropped, not fatal


# ---------------------------------------------------------------------------------------------- encoding

def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _filter_py(data, bpp):  # pragma: no cover - the Numba version runs instead
    """Filter each row (libpng's heuristic: the filter whose bytes have the smallest sum of |signed|)."""
    height, rowbytes = data.shape
    out = np.empty((height, rowbytes + 1), np.uint8)
    costs = np.zeros(5, np.int64)
    for y in range(height):
        costs[:] = 0
        for x in range(rowbytes):
            v = np.int32(data[y, x])
            a = np.int32(data[y, x - bpp]) if x >= bpp else np.int32(0)
            b = np.int32(data[y - 1, x]) if y > 0 else np.int32(0)
            c = np.int32(data[y - 1, x - bpp]) if (x >= bpp and y > 0) else np.int32(0)
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            paeth = a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)
            r0, r1, r2, r3, r4 = v & 0xFF, (v - a) & 0xFF, (v - b) & 0xFF, (v - (a + b) // 2) & 0xFF, (v - paeth) & 0xFF
            costs[0] += min(r0, 256 - r0)
            costs[1] += min(r1, 256 - r1)
            costs[2] += min(r2, 256 - r2)
            costs[3] += min(r3, 256 - r3)
            costs[4] += min(r4, 256 - r4)
        best = np.argmin(costs)
        out[y, 0] = best
        for x in range(rowbytes):
            v = np.int32(data[y, x])
            a = np.int32(data[y, x - bpp]) if x >= bpp else np.int32(0)
            b = np.int32(data[y - 1, x]) if y > 0 else np.int32(0)
            c = np.int32(data[y - 1, x - bpp]) if (x >= bpp and y > 0) else np.int32(0)
            if best == 0:
                pred = np.int32(0)
            elif best == 1:
                pred = a
            elif best == 2:
                pred = b
            elif best == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)
            out[y, x + 1] = np.uint8((v - pred) & 0xFF)
    return out


_filter_jit = None


def filter_rows(data: np.ndarray, bpp: int) -> np.ndarray:
    global _filter_jit
    if _filter_jit is None:
        from numba import njit

        _filter_jit = njit(cache=True, nogil=True)(_filter_py)
    return _filter_jit(data, bpp)


def encode(pixels: np.ndarray, meta: dict | None = None, level: int = 6) -> bytes:
    """A non-interlaced 16-bit PNG of an H x W x C uint16 array (C = 1, 2, 3 or 4) with metadata chunks."""
    height, width, channels = pixels.shape
    meta = meta or {}
    parts = [SIGNATURE, _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, COLOUR_TYPE[channels], 0, 0, 0))]
    if meta.get("icc_profile"):
        parts.append(_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(meta["icc_profile"])))
    if meta.get("dpi"):
        x, y = (max(1, round(d / 0.0254)) for d in meta["dpi"])
        parts.append(_chunk(b"pHYs", struct.pack(">IIB", x, y, 1)))
    if meta.get("exif"):
        exif = meta["exif"]
        parts.append(_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
    text = dict(meta.get("text") or {})
    if meta.get("xmp"):
        xmp = meta["xmp"]
        text[XMP_KEY] = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else str(xmp)
    for key, value in text.items():
        key_bytes = str(key).encode("latin-1", "replace")[:79] or b"Comment"
        parts.append(_chunk(b"iTXt", key_bytes + b"\0\0\0\0\0" + str(value).encode("utf-8")))
    rowbytes = width * channels * 2
    data = np.ascontiguousarray(pixels, dtype=">u2").view(np.uint8).reshape(height, rowbytes)
    payload = zlib.compress(filter_rows(data, 2 * channels).tobytes(), level)
    for start in range(0, max(1, len(payload)), 1 << 20):
        parts.append(_chunk(b"IDAT", payload[start:start + (1 << 20)]))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)
