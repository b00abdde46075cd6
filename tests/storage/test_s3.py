"""What only the S3 adapter has: listings in pages, copies in parts, identities from HeadObject."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from medalist.aws import AwsTarget
from medalist.storage.s3 import S3Storage, identity
from tests.aws.emulator import REGION
from tests.storage.conftest import s3_roots


def _storage(endpoint: str, **options: Any) -> S3Storage:
    return S3Storage(s3_roots(endpoint, "prefix"), AwsTarget(REGION, endpoint), **options)


def test_find_follows_every_page_of_a_listing(aws_endpoint: str) -> None:
    storage = _storage(aws_endpoint, list_page=2)
    for day in range(1, 8):
        storage.s3.put_object(
            Bucket=storage.roots["landing"].bucket,
            Key=storage.roots["landing"].key(f"orders/2026-11-0{day}.csv"),
            Body=b"x",
        )
    assert len(storage.find("landing", "orders/*.csv")) == 7


def test_a_big_object_is_published_by_a_copy_in_parts(aws_endpoint: str) -> None:
    storage = _storage(aws_endpoint, copy_part_bytes=5 * 2**20)  # S3's smallest part
    body = bytes(range(256)) * (6 * 2**20 // 256 + 1)  # 6 MB: two parts
    bucket, _, key = storage.staging_url("gold", "sales/r1.parquet", "r1")[5:].partition("/")
    storage.s3.put_object(Bucket=bucket, Key=key, Body=body)

    storage.publish("gold", "sales/r1.parquet", "r1")

    published = storage.s3.get_object(
        Bucket=bucket, Key=storage.roots["gold"].key("sales/r1.parquet")
    )
    assert published["Body"].read() == body
    assert published["ETag"].strip('"').endswith("-2")  # it was copied in two parts
    assert storage.discard_staged("gold", keep=set()) == []
    uploads = storage.s3.list_multipart_uploads(Bucket=bucket)
    assert uploads.get("Uploads", []) == []  # none left open


def test_the_same_bytes_in_other_parts_are_another_identity(aws_endpoint: str) -> None:
    """Decision 0016's stated cost: without a whole-object checksum, a multipart upload's
    identity depends on its part size (moto keeps no CRC64NVME for multipart uploads)."""
    storage = _storage(aws_endpoint)
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name=REGION)
    root = storage.roots["landing"]
    body = b"a" * (6 * 2**20)
    s3.put_object(Bucket=root.bucket, Key=root.key("orders/one.csv"), Body=body)
    upload = s3.create_multipart_upload(Bucket=root.bucket, Key=root.key("orders/parts.csv"))
    parts = []
    for number, chunk in enumerate((body[: 5 * 2**20], body[5 * 2**20 :]), start=1):
        done = s3.upload_part(
            Bucket=root.bucket,
            Key=root.key("orders/parts.csv"),
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=chunk,
        )
        parts.append({"PartNumber": number, "ETag": done["ETag"]})
    s3.complete_multipart_upload(
        Bucket=root.bucket,
        Key=root.key("orders/parts.csv"),
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
    )

    one = storage.checksum("landing", "orders/one.csv")
    assert one.startswith("md5:") and one.endswith(f":{len(body)}")
    in_parts = storage.checksum("landing", "orders/parts.csv")
    assert in_parts.startswith("etag:") and in_parts.endswith(f"-2:{len(body)}")


IDENTITIES = [
    ("plain_md5", {"ETag": '"abc"', "ContentLength": 3, "ChecksumCRC32": "x=="}, "md5:abc:3"),
    (
        "kms_hides_the_md5",
        {
            "ETag": '"abc"',
            "ContentLength": 3,
            "ServerSideEncryption": "aws:kms",
            "ChecksumCRC64NVME": "c=",
            "ChecksumType": "FULL_OBJECT",
        },
        "crc64nvme:c=:3",
    ),
    (
        "multipart_full_object",
        {
            "ETag": '"abc-4"',
            "ContentLength": 9,
            "ChecksumCRC32C": "d=",
            "ChecksumType": "FULL_OBJECT",
        },
        "crc32c:d=:9",
    ),
    (
        "multipart_composite",
        {
            "ETag": '"abc-4"',
            "ContentLength": 9,
            "ChecksumSHA256": "e=-4",
            "ChecksumType": "COMPOSITE",
        },
        "etag:abc-4:9",
    ),
]


@pytest.mark.parametrize(
    ("head", "expected"), [i[1:] for i in IDENTITIES], ids=[i[0] for i in IDENTITIES]
)
def test_identity_prefers_what_every_uploader_agrees_on(
    head: dict[str, Any], expected: str
) -> None:
    assert identity(head) == expected
