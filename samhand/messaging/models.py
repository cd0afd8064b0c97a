"""Models of samhand.messaging."""
