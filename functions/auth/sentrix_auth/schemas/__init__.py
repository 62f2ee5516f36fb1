"""Request and response bodies of the auth API, one module per resource. Requests forbid unknown fields."""
