"""AWS sources for ``bandwidth_credentials``: Secrets Manager and the Lambda extension.

Two schemes, registered under the entry-point group ``bandwidth_credentials.providers``:

- ``aws-sm:NAME_OR_ARN`` reads a secret with boto3's ``GetSecretValue``
  (:class:`~bandwidth_credentials_aws.secrets_manager.SecretsManagerProvider`).
- ``aws-lambda-ext:NAME_OR_ARN`` reads it from the AWS Parameters and Secrets Lambda
  Extension's local HTTP endpoint with the standard library only
  (:class:`~bandwidth_credentials_aws.lambda_extension.LambdaExtensionProvider`).

Importing this package imports neither boto3 nor botocore: the provider modules are
loaded through their entry points, and ``aws-sm`` imports boto3 on its first fetch.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
