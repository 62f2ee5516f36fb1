"""What the upload routes do, between parsing the request and shaping the response."""
