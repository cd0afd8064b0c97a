"""Models of samhand.alerts."""
