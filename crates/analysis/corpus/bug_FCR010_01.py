def add(item: int, bucket: list[int] = []) -> list[int]:  # expect: FCR010
    bucket.append(item)
    return bucket
