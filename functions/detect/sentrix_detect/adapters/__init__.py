"""Outside systems of the detect function: the S3 objects and the SQS queue."""
