"""The local stack: PostGIS, moto's server, the YOLO stand-in, an API Gateway emulator and an SQS poller.

It replaces `sam local` on machines without Docker, invoking the same handlers with the same event shapes.
"""
