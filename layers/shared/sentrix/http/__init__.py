"""HTTP plumbing shared by every API function: app factory, error envelope, identity."""
