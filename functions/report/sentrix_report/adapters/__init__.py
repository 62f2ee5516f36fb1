"""Outside things the report function talks to besides the database and S3: SNS, webhook receivers."""
