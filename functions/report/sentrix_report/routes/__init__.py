"""HTTP doorways of the report function: parse the request, call one logic function, shape the response."""
