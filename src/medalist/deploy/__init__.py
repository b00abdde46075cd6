"""The AWS deployment: the workflow as Amazon States Language, the stack as CloudFormation."""
