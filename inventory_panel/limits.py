"""Size limits shared by the server's options and the upload widget, without importing Panel.

An upload reaches the server as binary websocket messages of at most ``UPLOAD_CHUNK_BYTES`` each (the browser
sends raw bytes, not base64; ``ui/upload.py``), so the server's websocket message limit only has to hold one chunk
plus framing, whatever ``INVENTORY_MAX_UPLOAD_MB`` is. A smaller limit is less memory a client can make the server
hold for one message.
"""

from __future__ import annotations

UPLOAD_CHUNK_BYTES = 4 * 1_048_576
WEBSOCKET_MESSAGE_BYTES = UPLOAD_CHUNK_BYTES + 1_048_576  # one chunk and its JSON header, with room to spare
