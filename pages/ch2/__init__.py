"""Page logic for docs/ch2/."""
