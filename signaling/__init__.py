"""The video room protocol over the event WebSocket (filled by the video issue)."""
