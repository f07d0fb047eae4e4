"""Image probing and rendering with libvips.

libvips' untrusted loaders (ImageMagick, PDF, SVG, matlab, …) are blocked at import:
only the formats the service accepts may ever reach a decoder.
"""

import pyvips

pyvips.block_untrusted_set(True)
