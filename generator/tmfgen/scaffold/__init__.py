"""`tmfgen scaffold`: start the AsyncAPI definition of a TMF API from its OAS and its profile.

Writing an AsyncAPI file by hand for every TMF API repeats the same conventions (one request and
one reply channel per operation, header schemas from the profile tables, payloads that `$ref` the
official OpenAPI schemas) and invites drift between APIs. The scaffold applies the conventions
of `specs/tmf629/asyncapi.yaml` mechanically: `oas` reads the REST operations, `mapping` pairs
them with the profile's operations, `headers` and `document` build the AsyncAPI 3.0 document,
and `run` writes it with the OAS copy and the profile into one folder.
"""
