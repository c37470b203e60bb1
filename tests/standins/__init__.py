"""Stand-ins for Mesos and Marathon (tests and the offline sandbox only; never the product)."""
