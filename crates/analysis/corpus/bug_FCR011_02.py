def is_admin(role: str) -> bool:
    return role is "admin"  # expect: FCR011
