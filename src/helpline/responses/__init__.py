"""Answer texts: the placeholder renderer and composing replies and auto-responses."""
