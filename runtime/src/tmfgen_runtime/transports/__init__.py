"""Brokers. `transport.Transport` owns what every broker needs the same way (subscription
bookkeeping, publish retried until its deadline, stop grace); each other module holds only one
broker's native calls and is imported when its backend is chosen (`create_transport`)."""
