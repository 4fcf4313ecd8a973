"""The one exception type users see: anything raised as ImgconvError is reported as a single line."""


class ImgconvError(ValueError):
    """A problem with the user's input (file, kernel, option) rather than a bug in imgconv."""
