"""The conformance kit: the generated conformance tests, run against any implementation.

`tmfgen ctk` generates the package of a spec and profile into a temporary folder and runs its
tests against a service that is already running (`run.py`), with a pytest plugin (`plugin.py`)
that records every exchange and writes a JUnit XML file and one HTML page (`report.py`).
`--self-test` plants each known fault (`faults.py`) in a copy of the package and checks that the
kit catches every one (`selftest.py`).
"""
