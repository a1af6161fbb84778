"""Everything aiortc: pre-check peer, relay fallback, quality presets (filled by the video issue)."""
