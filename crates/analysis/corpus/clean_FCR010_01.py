from typing import Optional


def add(item: int, bucket: Optional[list[int]] = None) -> list[int]:
    if bucket is None:
        bucket = []
    bucket.append(item)
    return bucket
