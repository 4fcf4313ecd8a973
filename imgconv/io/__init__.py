"""Image I/O: the only place that knows about file formats, modes, bit depth, orientation and metadata.

load() gives a `Picture`: an HxWxC array in the file's own number type (uint8, uint16, int32 or float32),
whether its last channel is alpha, whether its channels are CMYK inks, the metadata to carry to the
output (ICC profile, EXIF, XMP, PNG text, JPEG comment, dpi), upright, and the input's encoder settings.
save() encodes straight into the output's temporary file and renames it into place.  Pillow does the
work except where another library is faster or keeps more, each imported only for the files it serves:
JPEG pixels (imagecodecs), 16-bit colour PNG (imagecodecs) and 16-bit/float colour TIFF (tifffile),
HEIF (pillow-heif) and JPEG XL (imagecodecs).

  reading    load: decoding, modes, orientation, the pixel limit
  writing    save, encode: formats, what each can hold
  settings   the input's encoder settings kept (JPEG quality and subsampling, TIFF compression, lossless)
  metadata   what is carried, and dropped where a format cannot hold it
  colour     ICC profiles and CMYK
  jpeg       8-bit JPEG pixels through imagecodecs, metadata segments as Pillow writes them
  png, tiff  16-bit colour files
  plugins    HEIF (heif) and JPEG XL (jxl), recognised from their first bytes
  atomic     replacing: a file written whole or not at all
"""

from .colour import as_rgb
from .picture import FULL, Picture, to_dtype
from .reading import load
from .writing import encode, output_format, save

__all__ = ["FULL", "Picture", "as_rgb", "encode", "load", "output_format", "save", "to_dtype"]
