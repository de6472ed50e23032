"""An endpoint URL with user info is refused before any client is built, and one fetch of
``aws-ssm:/path/`` ends within one total deadline however many pages the store serves."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from tests.misbehaving import misbehaving, slow

from bandwidth_credentials import ConfigurationError, SourceUnavailableError, parse_source
from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET, check_no_leaks
from bandwidth_credentials_aws._boto import ClientSettings
from bandwidth_credentials_aws.parameter_store import ParameterStoreProvider
from bandwidth_credentials_aws.secrets_manager import SecretsManagerProvider


@pytest.mark.parametrize(
    "variable",
    ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSM"],
)
@pytest.mark.parametrize("uri", ["aws-sm:bw/prod", "aws-ssm:/bw/prod/", "aws-ssm:/bw/prod/creds"])
def test_an_endpoint_url_with_user_info_is_refused_before_any_client_is_built(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, variable: str, uri: str
) -> None:
    caplog.set_level(logging.DEBUG)  # botocore's DEBUG records would show the URL
    monkeypatch.setenv(variable, f"http://user:{CANARY_PASSWORD}@127.0.0.1:9/")
    kind = SecretsManagerProvider if uri.startswith("aws-sm:") else ParameterStoreProvider

    with pytest.raises(ConfigurationError) as caught:
        check_no_leaks(lambda: kind(parse_source(uri)), [CANARY_PASSWORD])

    assert f"{variable} carries user info" in str(caught.value)
    assert CANARY_PASSWORD not in caplog.text
    assert not [r for r in caplog.records if r.name.startswith("botocore")]


def test_user_info_set_after_the_source_was_parsed_is_refused_at_the_first_fetch(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = SecretsManagerProvider(parse_source("aws-sm:bw/prod"))
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", f"http://u:{CANARY_PASSWORD}@[::1]:9")

    with pytest.raises(ConfigurationError) as caught:
        check_no_leaks(provider.fetch, [CANARY_PASSWORD])

    assert "AWS_ENDPOINT_URL_SECRETS_MANAGER carries user info" in str(caught.value)
    assert CANARY_PASSWORD not in caplog.text


@pytest.mark.parametrize("url", ["http://127.0.0.1:4566", "https://ssm.example.com/path?x=@y"])
def test_an_endpoint_url_without_user_info_is_accepted(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", url)

    ParameterStoreProvider(parse_source("aws-ssm:/bw/prod/"))


def _page(index: int) -> bytes:
    parameter = {
        "Name": f"/bw/prod/KEY_{index}",
        "Type": "SecureString",
        "Value": CANARY_PASSWORD,
        "Version": 1,
    }
    return json.dumps({"Parameters": [parameter], "NextToken": f"page-{index + 1}"}).encode()


def test_a_paginated_path_ends_within_one_total_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uri = "aws-ssm:/bw/prod/?connect_timeout=0.5&read_timeout=0.5"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
    worst = ClientSettings.of(parse_source(uri), "ssm", None).worst_case
    # Every page is slow but within one attempt's deadline, and names a next page.
    endless = slow(_page(0), 0.3, {"Content-Type": "application/x-amz-json-1.1"})
    with misbehaving(endless) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        provider = ParameterStoreProvider(parse_source(uri))
        times: list[float] = []

        def timed() -> object:
            # Timed here: the leak harness's own analysis afterwards is not the fetch's.
            times.append(time.monotonic())
            try:
                return provider.fetch()
            finally:
                times.append(time.monotonic())

        with pytest.raises(SourceUnavailableError) as caught:
            check_no_leaks(timed, [CANARY_PASSWORD, CANARY_SECRET])
        elapsed = times[1] - times[0]

    assert worst == 6.0  # 3 attempts of 0.5 + 0.5 s, and 3 s of backoff at most
    assert elapsed < worst + 1.5, elapsed
    assert len(server.requests) > 3  # several pages were read before the deadline
    assert f"total deadline of {worst:g} s" in str(caught.value)
    assert "parameters under path '/bw/prod/'" in str(caught.value)


_CONFIG_ENDPOINTS = {
    "profile endpoint_url": "[default]\nendpoint_url = {url}\n",
    "services section": (
        "[default]\nservices = bw\n\n[services bw]\n"
        "secrets_manager =\n  endpoint_url = {url}\nssm =\n  endpoint_url = {url}\n"
    ),
    "named profile": "[profile ops]\nendpoint_url = {url}\n",
}


@pytest.mark.parametrize("layout", sorted(_CONFIG_ENDPOINTS))
@pytest.mark.parametrize("uri", ["aws-sm:bw/prod", "aws-ssm:/bw/prod/", "aws-ssm:/bw/prod/creds"])
def test_an_endpoint_url_with_user_info_in_the_config_file_is_refused_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    layout: str,
    uri: str,
) -> None:
    caplog.set_level(logging.DEBUG)  # botocore's DEBUG records would show the URL
    config = tmp_path / "aws-config"
    url = f"http://user:{CANARY_PASSWORD}@127.0.0.1:9"
    config.write_text(_CONFIG_ENDPOINTS[layout].format(url=url))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ENDPOINT_URL")  # the conftest's: the config file's is the one
    if layout == "named profile":
        uri += "?profile=ops"
    kind = SecretsManagerProvider if uri.startswith("aws-sm:") else ParameterStoreProvider
    provider = kind(parse_source(uri))

    with pytest.raises(ConfigurationError) as caught:
        check_no_leaks(provider.fetch, [CANARY_PASSWORD])

    assert "carries user info" in str(caught.value)
    assert "shared AWS config file" in str(caught.value)
    assert CANARY_PASSWORD not in caplog.text
    assert not [r for r in caplog.records if "127.0.0.1:9" in r.getMessage()]
