"""The conformance suite of every generated package, written once as real, linted code.

A generated package's tests hold only data: the contract module (channels, headers, status
codes, samples and the test plan, all read from the profile and the AsyncAPI document) and one
small module per resource and kind of test that imports the planned tests from here and names
the suite they belong to (`TMF_SUITE`). The runtime's pytest plugin parametrizes each test with
the cases of the plan and marks it with the profile rules it checks, so two packages' suites run
side by side in one session and a fix to a test reaches every package without regenerating.

- `contract`: the data types a generated contract module is written in;
- `subject`: what a test holds: the driver, the resource's contract and the helpers every test
  uses (a unique sample, a query matching its own resources, a create that must succeed);
- `resource_tests`, `bad_input_tests`, `event_tests`: the tests;
- `fixtures`: the session fixtures a package's conftest.py binds to its service;
- `hooks`: parametrization and rule markers from the plan (loaded by the pytest plugin).
"""
