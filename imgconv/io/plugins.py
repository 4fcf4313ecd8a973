"""Formats Pillow reads and writes only through a plugin: registered when such a file is met or written."""

from __future__ import annotations

#: Output extension -> format name, for formats whose plugin is not loaded yet.
EXTENSIONS: dict = {}
#: Format name -> its writer.
FORMATS: dict = {}
