"""Testing a package through the broker only: the driver and assertion helpers (`testkit`),
the event watch (`eventkit`), the pytest plugin every generated suite loads (`pytest_plugin`),
and the conformance suite itself (`conformance`)."""
