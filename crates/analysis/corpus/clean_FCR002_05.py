def describe(flag: bool) -> None:
    message = "off"
    if flag:
        message = "on"
    print(message)
