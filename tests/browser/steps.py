"""Steps several browser tests take."""


def log_in_with_password(page, email: str, password: str) -> None:  # noqa: ANN001
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
