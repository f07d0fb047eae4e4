"""Image probing and rendering with libvips.

libvips' untrusted loaders (ImageMagick, PDF, SVG, matlab, …) are blocked at import:
only the formats the service accepts may ever reach a decoder.

Each render runs on one libvips thread: parallelism comes from the render pool, one render
per CPU. Measured on the bench photo, libvips' own threads added ~12% CPU per render and no
speed once two renders run at once.

libvips' operation cache is off: every upload and render is a different buffer, so the cache
could only hold decoded pixels in memory (and make repeated benchmark work look cheap).
"""

import pyvips

pyvips.block_untrusted_set(True)
pyvips.concurrency_set(1)
pyvips.cache_set_max(0)
