"""Page logic for docs/ch3/."""
