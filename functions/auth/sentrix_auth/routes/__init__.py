"""HTTP doorways of the auth function: parse, call one logic function, answer."""
