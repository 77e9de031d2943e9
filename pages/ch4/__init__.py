"""Page logic for docs/ch4/."""
