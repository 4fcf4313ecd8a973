"""JPEG XL through imagecodecs (libjxl), imported only when such a file is read or written.

Why imagecodecs and not the pillow-jxl-plugin: it is already a dependency, it decodes and encodes 8-bit,
16-bit and float grey/RGB, with or without alpha, straight from and into numpy (the plugin is limited to
Pillow's modes: 16-bit colour comes back as 8 bits), and it releases the GIL.  What it lacks is done here,
small and tested: the image size and bit depth from the codestream header (so the pixel limit is checked
before decoding, and 10/12-bit samples are scaled to 16 bits), and the container's Exif and xml (XMP) boxes.
Neither library writes an ICC profile: a picture with one is converted to sRGB first (littleCMS, via
imagecodecs), with a note.  imagecodecs 2026.3 tags 16-bit and float samples as linear light, with no
option to say sRGB, so those are written as 8-bit sRGB (noted) unless an imagecodecs with a `transfer`
option is installed.  libjxl applies the orientation on decoding, so the EXIF tag is dropped.
Lossless when the input was lossless or `--quality 100` (as in cjxl); speed settings in docs/fidelity.md.
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import ImgconvError
from .picture import rescale

CODESTREAM = b"\xff\x0a"
CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
#: libjxl effort (1 fastest .. 10): lossy 3 and lossless 1 cost a fraction of the default's time for files
#: about as small (measured in docs/fidelity.md).
LOSSY_EFFORT, LOSSLESS_EFFORT = 3, 1
#: SizeHeader aspect ratios (ISO/IEC 18181-1), width = height * ratio.
RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}


def recognises(data: bytes) -> bool:
    return data[:2] == CODESTREAM or data[:12] == CONTAINER


# ------------------------------------------------------------------------------------------- boxes

def boxes(data: bytes):
    """(type, payload) of each box of a JPEG XL container."""
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        start = pos + 8
        if size == 1:  # 64-bit size
            if start + 8 > len(data):
                return
            size, start = struct.unpack(">Q", data[start:start + 8])[0], start + 8
        end = len(data) if size == 0 else pos + size
        if end < start or end > len(data):
            raise ValueError("truncated JPEG XL container (a box runs past the end of the file)")
        yield kind, data[start:end]
        pos = end


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def codestream_start(data: bytes) -> bytes:
    """The start of the codestream: the file itself, or the first jxlc/jxlp box of a container."""
    if data[:2] == CODESTREAM:
        return data
    for kind, payload in boxes(data):
        if kind == b"jxlc":
            return payload
        if kind == b"jxlp":
            return payload[4:]  # after the part's index
    raise ValueError("JPEG XL container without a codestream")


# ------------------------------------------------------------------------------------------ header

class _Bits:
    """The codestream's bit reader: least significant bit of each byte first."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def u(self, count: int) -> int:
        value = 0
        for i in range(count):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise ValueError("truncated JPEG XL header")
            value |= ((self.data[byte] >> (self.pos & 7)) & 1) << i
            self.pos += 1
        return value

    def u32(self, *choices) -> int:
        """U32(d0, d1, d2, d3): a 2-bit selector, then the chosen int or (bits, offset)."""
        choice = choices[self.u(2)]
        return choice if isinstance(choice, int) else self.u(choice[0]) + choice[1]

    def size(self, small, large) -> tuple[int, int]:
        """A SizeHeader or PreviewHeader: (width, height); `small` and `large` read the height (and
        width) for the multiple-of-8 and the general case."""
        div8 = self.u(1)
        height = 8 * small(self) if div8 else large(self)
        ratio = self.u(3)
        if ratio:
            numerator, denominator = RATIOS[ratio]
            return height * numerator // denominator, height
        return (8 * small(self) if div8 else large(self)), height


#: SizeHeader: u(5) + 1 eighths, or U32(1 + u(9), 1 + u(13), 1 + u(18), 1 + u(30)).
_SIZE = (lambda b: b.u(5) + 1, lambda b: b.u32((9, 1), (13, 1), (18, 1), (30, 1)))
#: PreviewHeader: U32(16, 32, 1 + u(5), 33 + u(9)) eighths, or U32(1 + u(6), 65 + u(8), 321 + u(10), 1345 + u(12)).
_PREVIEW = (lambda b: b.u32(16, 32, (5, 1), (9, 33)), lambda b: b.u32((6, 1), (8, 65), (10, 321), (12, 1345)))


def header(data: bytes) -> dict:
    """The codestream's SizeHeader and ImageMetadata: width, height, bits (per sample), float, and xyb
    -- whether the colours are XYB-coded, which libjxl does for lossy files only."""
    bits = _Bits(codestream_start(data)[2:])
    width, height = bits.size(*_SIZE)
    found = {"width": width, "height": height, "bits": 8, "float": False, "xyb": True}
    if bits.u(1):  # all_default: 8-bit, XYB
        return found
    if bits.u(1):  # extra_fields
        bits.u(3)  # orientation
        if bits.u(1):
            bits.size(*_SIZE)  # intrinsic size
        if bits.u(1):
            bits.size(*_PREVIEW)
        if bits.u(1):  # animation: tps numerator, denominator, loops, timecodes
            bits.u32(100, 1000, (10, 1), (30, 1))
            bits.u32(1, 1001, (8, 1), (10, 1))
            bits.u32(0, (3, 0), (16, 0), (32, 0))
            bits.u(1)
    found["float"], found["bits"] = _bit_depth(bits)
    bits.u(1)  # modular_16bit_buffers
    for _ in range(bits.u32(0, 1, (4, 2), (12, 1))):  # extra channels
        if bits.u(1):  # d_alpha: a default 8-bit alpha channel
            continue
        kind = bits.u32(0, 1, (4, 2), (6, 18))
        _bit_depth(bits)
        bits.u32(0, 3, 4, (3, 1))  # dim_shift
        bits.u(8 * bits.u32(0, (4, 0), (5, 16), (10, 48)))  # name
        if kind == 0:
            bits.u(1)  # alpha_associated
        elif kind == 2:
            bits.u(64)  # spot colour: four float16
        elif kind == 5:
            bits.u32(1, (2, 0), (4, 3), (8, 19))  # CFA channel
    found["xyb"] = bool(bits.u(1))
    return found


def _bit_depth(bits: _Bits) -> tuple[bool, int]:
    if bits.u(1):  # float samples: bits, then exponent bits
        depth = bits.u32(32, 16, 24, (6, 1))
        bits.u(4)
        return True, depth
    return False, bits.u32(8, 10, 12, (6, 1))


# --------------------------------------------------------------------------------- read and write

def read(data: bytes, check_size, notes: list):
    """(pixels H x W x C, metadata, alpha, lossless) of the first frame: uint8, uint16 (scaled to 16 bits)
    or float32; lossless: not XYB-coded (lossy files are)."""
    import imagecodecs

    found = header(data)
    check_size((found["width"], found["height"]))
    depth = found["bits"]
    pixels = imagecodecs.jpegxl_decode(data, index=0)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.dtype == np.float16:
        pixels = pixels.astype(np.float32)
    elif pixels.dtype == np.uint16 and depth < 16:  # the codestream's own depth: scale so white is 65535
        pixels = (pixels.astype(np.uint32) * 65535 // (2**depth - 1)).astype(np.uint16)
    meta = {}
    if data[:12] == CONTAINER:
        for kind, payload in boxes(data):
            if kind == b"Exif" and len(payload) > 4:
                offset = struct.unpack(">I", payload[:4])[0]  # to the TIFF header
                meta["exif"] = b"Exif\x00\x00" + payload[4 + offset:]
            elif kind == b"xml ":
                meta["xmp"] = payload
    return pixels, meta, pixels.shape[2] in (2, 4), not found["xyb"]


def write(sink, pixels: np.ndarray, *, alpha: bool, meta: dict, options: dict, notes: list) -> None:
    """A JPEG XL of `pixels` to `sink`: lossless or at options["quality"], EXIF and XMP in a container."""
    import imagecodecs

    tags = getattr(imagecodecs.JPEGXL, "TRANSFER_FUNCTION", None)
    if pixels.dtype != np.uint8 and (tags is None or pixels.dtype.kind == "f" or pixels.dtype == np.int32):
        notes.append(f"JPEG XL written with 8 bits per sample: this imagecodecs can tag {pixels.dtype} samples "
                     "only as linear light, which they are not")
        pixels = rescale(pixels, np.uint8)
    if meta.get("icc_profile"):
        pixels = _to_srgb(pixels, alpha, meta.pop("icc_profile"), notes)
    lossless = bool(options.get("lossless"))
    transfer = {"transfer": tags.SRGB} if pixels.dtype == np.uint16 else {}
    try:
        stream = imagecodecs.jpegxl_encode(
            np.ascontiguousarray(pixels if pixels.shape[2] > 1 else pixels[:, :, 0]),
            level=None if lossless else options["quality"], lossless=lossless,
            effort=LOSSLESS_EFFORT if lossless else LOSSY_EFFORT, **transfer)
    except (ValueError, RuntimeError, NotImplementedError) as e:
        raise ImgconvError(f"cannot encode this image as JPEG XL ({e})") from None
    extra = []
    if meta.get("exif"):
        exif = meta["exif"]
        extra.append(box(b"Exif", b"\0\0\0\0" + (exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)))
    if meta.get("xmp"):
        extra.append(box(b"xml ", meta["xmp"]))
    if not extra:
        sink.write(stream)
        return
    sink.write(CONTAINER + box(b"ftyp", b"jxl \0\0\0\0jxl "))
    parts = [(kind, payload) for kind, payload in boxes(stream)] if stream[:12] == CONTAINER else []
    for kind, payload in parts:
        if kind == b"jxll":  # the level box goes before the codestream
            sink.write(box(kind, payload))
    for part in extra:
        sink.write(part)
    if parts:
        for kind, payload in parts:
            if kind not in (b"JXL ", b"ftyp", b"jxll"):
                sink.write(box(kind, payload))
    else:
        sink.write(box(b"jxlc", stream))


def _to_srgb(pixels: np.ndarray, alpha: bool, profile: bytes, notes: list) -> np.ndarray:
    """Colour through the picture's ICC profile into sRGB, alpha untouched: the JPEG XL is tagged sRGB."""
    import imagecodecs

    colours = pixels.shape[2] - alpha
    if _describes_srgb(profile):
        notes.append("sRGB ICC profile not embedded: the JPEG XL is tagged sRGB")
        return pixels
    if colours != 3 or pixels.dtype.kind == "f":
        notes.append("ICC profile dropped: the JPEG XL writer embeds none, and only RGB is converted to sRGB")
        return pixels
    try:
        converted = imagecodecs.cms_transform(np.ascontiguousarray(pixels[:, :, :3]), profile,
                                              imagecodecs.cms_profile("srgb"), colorspace="rgb", outcolorspace="rgb")
    except Exception as e:  # noqa: BLE001 - a profile littleCMS cannot use: the colours are kept as they are
        notes.append(f"ICC profile dropped: the JPEG XL writer embeds none, and this one is unusable ({e})")
        return pixels
    notes.append("colours converted to sRGB through the ICC profile (the JPEG XL writer embeds no profile)")
    return np.concatenate([converted, pixels[:, :, 3:]], axis=2) if alpha else converted


def _describes_srgb(profile: bytes) -> bool:
    """A profile that calls itself sRGB (most cameras' and every browser's): no conversion needed."""
    import io

    from PIL import ImageCms

    try:
        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile))).startswith("sRGB")
    except (OSError, ImageCms.PyCMSError):
        return False
