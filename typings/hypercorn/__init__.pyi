# Minimal stub: hypercorn's `serve` has a partially unknown WSGI overload; we only use ASGI.
