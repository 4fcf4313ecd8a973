"""Image shapes as the engines' cost models count them."""


def hwc(shape) -> tuple[int, int, int]:
    """(height, width, channels) of an H x W or H x W x C shape."""
    return shape[0], shape[1], shape[2] if len(shape) > 2 else 1


def values(shape) -> int:
    """Output values of an image: H * W * C."""
    height, width, channels = hwc(shape)
    return height * width * channels
