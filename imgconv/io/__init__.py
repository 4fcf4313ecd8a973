"""Image I/O: the only place that knows about file formats, modes, bit depth, orientation and metadata.

load() gives a `Picture`: an HxWxC array in the file's own number type (uint8, uint16, int32 or float32),
whether its last channel is alpha, whether its channels are CMYK inks, and the metadata to carry to the
output (ICC profile, EXIF, XMP, PNG text, JPEG comment, dpi), upright.  save() encodes in memory and
writes atomically.  Pillow does the work except where it would lose bits: 16-bit colour and grey+alpha
PNG (`png`, via imagecodecs) and 16-bit/float colour TIFF (`tiff`, via tifffile), imported only for
those files.

  reading   load: decoding, modes, orientation, the pixel limit
  writing   save, encode: formats, what each can hold
  metadata  what is carried, and dropped where a format cannot hold it
  colour    ICC profiles and CMYK
  png, tiff 16-bit colour files
  atomic    write_atomic
"""

from .colour import as_rgb
from .picture import FULL, Picture, to_dtype
from .reading import load
from .writing import encode, output_format, save

__all__ = ["FULL", "Picture", "as_rgb", "encode", "load", "output_format", "save", "to_dtype"]
