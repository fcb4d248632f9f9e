"""tmfgen: generate tested TM Forum async API services from AsyncAPI + a conformance profile."""

__version__ = "0.1.0"
