"""The rotation function: Secrets Manager invokes ``lambda_handler`` for each of its four
steps (createSecret, setSecret, testSecret, finishSecret). Handler setting:
``handler.lambda_handler``."""

from bandwidth_credentials_aws.rotation import lambda_handler

__all__ = ["lambda_handler"]
