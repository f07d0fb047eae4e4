"""Image probing and rendering with libvips.

libvips' untrusted loaders (ImageMagick, PDF, SVG, matlab, …) are blocked at import:
only the formats the service accepts may ever reach a decoder.

Each render runs on one libvips thread: parallelism comes from the render pool, one render
per CPU. Measured on the bench photo, libvips' own threads added ~12% CPU per render and no
speed once two renders run at once (as imgproxy also concludes).
"""

import pyvips

pyvips.block_untrusted_set(True)
pyvips.concurrency_set(1)
