"""samhand: care across sectors for patients treated at home."""
