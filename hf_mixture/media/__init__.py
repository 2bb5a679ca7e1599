"""Images: resolving references, reading them, checking and (optionally) resizing, embedding."""
