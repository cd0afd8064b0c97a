"""Models of samhand.pathways."""
