"""The FHIR R4 API the connected services call (`/fhir/`), Bearer tokens only."""
