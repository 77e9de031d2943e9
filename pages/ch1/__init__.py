"""Page logic for docs/ch1/."""
