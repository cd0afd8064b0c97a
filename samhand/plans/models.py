"""Models of samhand.plans."""
