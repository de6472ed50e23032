"""AWS sources for ``bandwidth_credentials``: Secrets Manager, Parameter Store, and the
Lambda extension.

Three schemes, registered under the entry-point group ``bandwidth_credentials.providers``:

- ``aws-sm:NAME_OR_ARN`` reads a secret with boto3's ``GetSecretValue``
  (:class:`~bandwidth_credentials_aws.secrets_manager.SecretsManagerProvider`).
- ``aws-ssm:/PATH/`` or ``aws-ssm:NAME`` reads every parameter under a path, or one
  parameter, with ``GetParametersByPath`` / ``GetParameter``
  (:class:`~bandwidth_credentials_aws.parameter_store.ParameterStoreProvider`).
- ``aws-lambda-ext:NAME_OR_ARN`` (a secret) and ``aws-lambda-ext:ssm:NAME`` (one
  parameter) read from the AWS Parameters and Secrets Lambda Extension's local HTTP
  endpoint with the standard library only
  (:class:`~bandwidth_credentials_aws.lambda_extension.LambdaExtensionProvider`).

Importing this package imports neither boto3 nor botocore: the provider modules are
loaded through their entry points, and ``aws-sm``/``aws-ssm`` import boto3 on their
first fetch.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
