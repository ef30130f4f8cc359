"""Nepal's administrative divisions as citizens name them, and the places cases are about."""
