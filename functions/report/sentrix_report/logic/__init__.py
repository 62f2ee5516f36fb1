"""What the report function computes: each module turns a request into one result, SQL doing the numbers."""
