def ok(status: int) -> bool:
    return status == 200
