def retry(times: int) -> bool:
    attempts = 0  # expect: FCR014
    for _ in range(times):
        if times > 2:
            return True
    return False
