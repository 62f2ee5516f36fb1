"""HTTP routes of the upload function: parse, call one logic function, shape the answer."""
