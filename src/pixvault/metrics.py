"""Prometheus metrics, exposed at `/metrics`.

Separate `pixvault serve` processes each expose their own (scrape every one). The workers of
one `pixvault serve --workers N` share a port, so they write to Prometheus' multiprocess
directory and any worker's `/metrics` answers for all of them.
"""

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "pixvault_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "pixvault_http_request_duration_seconds",
    "HTTP request latency by route",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
UPLOAD_BYTES = Counter("pixvault_upload_bytes_total", "Bytes of originals stored by uploads")
RENDER_SECONDS = Histogram(
    "pixvault_render_seconds",
    "Time to render one derivative (decode, resize, encode)",
    ["format"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RENDER_QUEUE = Gauge(
    "pixvault_render_queue_depth",
    "Renders running or waiting (summed over the workers of one serve command)",
    multiprocess_mode="livesum",
)
DERIVATIVE_CACHE = Counter(
    "pixvault_derivative_cache_total", "Derivative lookups in the blob store", ["result"]
)
