"""Writing a built stage: the Hub folder layout, its README, the build report."""
