"""Page logic for docs/ch5/."""
