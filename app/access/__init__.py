"""The read gate: the only way personal data leaves the service.

Every read goes decide (purpose table) -> scoped fetch (404 for what the caller may not see)
-> consent -> projection (exactly the allowed fields) -> audit, in the request's transaction.
Responses that carry personal data are `GatedView` models, which accept only a `Projection`,
and only `app.access.gate` makes those.
"""
