"""Marathon 1.10 STAND-IN for tests and the offline sandbox. Not Marathon; never the product."""
