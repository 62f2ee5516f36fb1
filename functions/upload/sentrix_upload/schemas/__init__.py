"""Request and response models of the upload function (they are also its OpenAPI document)."""
