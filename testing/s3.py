"""The test S3 server (moto) through a client of our own, not through the code under test."""

from typing import Any

import boto3
from django.conf import settings


def s3_client() -> Any:
    """A boto3 S3 client for the bucket the default storage is configured with."""
    options = settings.STORAGES["default"]["OPTIONS"]
    return boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        aws_access_key_id=options["access_key"],
        aws_secret_access_key=options["secret_key"],
        region_name=options["region_name"],
    )
