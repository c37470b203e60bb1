"""Marathon stand-in: the Docker build context (see Dockerfile) and its test helpers."""
