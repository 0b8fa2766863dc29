def ok(status: int) -> bool:
    return status is 200  # expect: FCR011
