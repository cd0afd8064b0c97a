"""Models of samhand.observations."""
