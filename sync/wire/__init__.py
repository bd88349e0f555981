"""Wire models: the remote APIs' JSON shapes, with their own field names (aliases).

Separate from the table models on purpose: the database never sees a wire model and the
wire never sees a table row. Conversions live in ``sync.mapping``.
"""
