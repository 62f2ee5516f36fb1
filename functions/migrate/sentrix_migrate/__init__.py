"""The deploy hook: applies the database migrations when CloudFormation creates or updates the stack."""
